package io.placebrain.collector.copysink.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class CopyWriterStateSerializerTest {

  private final CopyWriterStateSerializer serializer = new CopyWriterStateSerializer();

  @Test
  void roundTripsThePrefix() throws Exception {
    byte[] bytes = serializer.serialize(new CopyWriterState("collector-readings"));

    assertThat(serializer.deserialize(serializer.getVersion(), bytes).transactionPrefix())
        .isEqualTo("collector-readings");
    assertThat(
            serializer.deserialize(
                serializer.getVersion(), serializer.serialize(CopyWriterState.EMPTY)))
        .isEqualTo(CopyWriterState.EMPTY);
  }

  @Test
  void readsTheEmptyStateOfVersionOne() throws Exception {
    // What the writer stored before it recorded its prefix.
    assertThat(serializer.deserialize(1, new byte[0]).transactionPrefix()).isNull();
  }

  @Test
  void refusesUnknownVersions() {
    assertThatThrownBy(() -> serializer.deserialize(3, new byte[0]))
        .isInstanceOf(IOException.class);
  }
}
