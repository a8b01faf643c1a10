package io.placebrain.flink.connector.postgres.copy.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class CopyWriterStateSerializerTest {

  private final CopyWriterStateSerializer serializer = new CopyWriterStateSerializer();

  @Test
  void roundTripsThePrefix() throws Exception {
    byte[] bytes = serializer.serialize(new CopyWriterState("collector-measurements", "01234567"));

    assertThat(serializer.deserialize(serializer.getVersion(), bytes).transactionPrefix())
        .isEqualTo("collector-measurements");
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
  void roundTripsTheJobTag() throws Exception {
    CopyWriterState state = new CopyWriterState("collector-measurements", "89abcdef");

    assertThat(serializer.deserialize(serializer.getVersion(), serializer.serialize(state)))
        .isEqualTo(state);
  }

  @Test
  void readsThePrefixOfVersionTwo() throws Exception {
    // Version 2: a flag, then the prefix in modified UTF-8; no job tag.
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
      out.writeBoolean(true);
      out.writeUTF("collector-measurements");
    }

    assertThat(serializer.deserialize(2, bytes.toByteArray()))
        .isEqualTo(new CopyWriterState("collector-measurements", null));
  }

  @Test
  void refusesUnknownVersions() {
    assertThatThrownBy(() -> serializer.deserialize(4, new byte[0]))
        .isInstanceOf(IOException.class);
  }
}
