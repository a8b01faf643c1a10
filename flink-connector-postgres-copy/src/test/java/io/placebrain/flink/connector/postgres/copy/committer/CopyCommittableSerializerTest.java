package io.placebrain.flink.connector.postgres.copy.committer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class CopyCommittableSerializerTest {

  private final CopyCommittableSerializer serializer = new CopyCommittableSerializer();

  @Test
  void roundTrips() throws Exception {
    CopyCommittable committable = new CopyCommittable("collector-measurements:42:3:9f2c", 12_345L);

    byte[] bytes = serializer.serialize(committable);

    assertThat(serializer.deserialize(serializer.getVersion(), bytes)).isEqualTo(committable);
  }

  @Test
  void roundTripsStatementsAndCommittablesWithoutATransaction() throws Exception {
    CopyCommittable withStatements =
        new CopyCommittable("p:1:0:a", 3, java.util.List.of("DELETE FROM a", "DELETE FROM b"));
    CopyCommittable statementsOnly =
        new CopyCommittable(null, 0, java.util.List.of("DELETE FROM c"));

    for (CopyCommittable committable : java.util.List.of(withStatements, statementsOnly)) {
      assertThat(serializer.deserialize(serializer.getVersion(), serializer.serialize(committable)))
          .isEqualTo(committable);
    }
  }

  @Test
  void readsVersionOneCommittables() throws Exception {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
      out.writeUTF("p:7:1:b");
      out.writeLong(42);
    }

    assertThat(serializer.deserialize(1, bytes.toByteArray()))
        .isEqualTo(new CopyCommittable("p:7:1:b", 42));
  }

  @Test
  void roundTripsTheTransactionId() throws Exception {
    CopyCommittable committable =
        new CopyCommittable("p:3:1:c", 7, java.util.List.of("DELETE FROM d"), 4_294_967_299L);

    assertThat(serializer.deserialize(serializer.getVersion(), serializer.serialize(committable)))
        .isEqualTo(committable);
  }

  @Test
  void readsVersionTwoCommittablesWithoutATransactionId() throws Exception {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
      out.writeBoolean(true);
      out.writeUTF("p:2:0:b");
      out.writeLong(5);
      out.writeInt(1);
      out.writeUTF("DELETE FROM e");
    }

    assertThat(serializer.deserialize(2, bytes.toByteArray()))
        .isEqualTo(new CopyCommittable("p:2:0:b", 5, java.util.List.of("DELETE FROM e"), 0));
  }

  @Test
  void refusesUnknownVersions() {
    assertThatThrownBy(() -> serializer.deserialize(99, new byte[0]))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("99");
  }
}
