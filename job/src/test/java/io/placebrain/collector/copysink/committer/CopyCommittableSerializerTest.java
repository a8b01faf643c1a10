package io.placebrain.collector.copysink.committer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class CopyCommittableSerializerTest {

  private final CopyCommittableSerializer serializer = new CopyCommittableSerializer();

  @Test
  void roundTrips() throws Exception {
    CopyCommittable committable = new CopyCommittable("collector-readings:42:3:9f2c", 12_345L);

    byte[] bytes = serializer.serialize(committable);

    assertThat(serializer.deserialize(serializer.getVersion(), bytes)).isEqualTo(committable);
  }

  @Test
  void refusesUnknownVersions() {
    assertThatThrownBy(() -> serializer.deserialize(99, new byte[0]))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("99");
  }
}
