package io.placebrain.collector.copysink.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class CopyWriterStateSerializerTest {

  private final CopyWriterStateSerializer serializer = new CopyWriterStateSerializer();

  @Test
  void roundTrips() throws Exception {
    byte[] bytes = serializer.serialize(CopyWriterState.EMPTY);

    assertThat(serializer.deserialize(serializer.getVersion(), bytes))
        .isSameAs(CopyWriterState.EMPTY);
  }

  @Test
  void refusesUnknownVersions() {
    assertThatThrownBy(() -> serializer.deserialize(2, new byte[0]))
        .isInstanceOf(IOException.class);
  }
}
