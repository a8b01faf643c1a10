package io.placebrain.flink.connector.postgres.copy.writer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.apache.flink.annotation.Internal;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Versioned serializer of {@link CopyWriterState}. Version 1 was empty (savepoints of versions
 * before the prefix was recorded still restore, as state without a prefix); version 2 holds the
 * transaction prefix; version 3 adds the job tag.
 */
@Internal
public final class CopyWriterStateSerializer implements SimpleVersionedSerializer<CopyWriterState> {

  static final int VERSION = 3;

  @Override
  public int getVersion() {
    return VERSION;
  }

  @Override
  public byte[] serialize(CopyWriterState state) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writeNullable(out, state.transactionPrefix());
      writeNullable(out, state.jobTag());
    }
    return bytes.toByteArray();
  }

  @Override
  public CopyWriterState deserialize(int version, byte[] serialized) throws IOException {
    if (version == 1) {
      return CopyWriterState.EMPTY;
    }
    if (version != 2 && version != 3) {
      throw new IOException(
          "Unknown version "
              + version
              + " of COPY sink writer state; this build reads up to "
              + VERSION);
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
      String prefix = readNullable(in);
      String jobTag = version >= 3 ? readNullable(in) : null;
      return new CopyWriterState(prefix, jobTag);
    }
  }

  private static void writeNullable(DataOutputStream out, String value) throws IOException {
    out.writeBoolean(value != null);
    if (value != null) {
      out.writeUTF(value);
    }
  }

  private static String readNullable(DataInputStream in) throws IOException {
    return in.readBoolean() ? in.readUTF() : null;
  }
}
