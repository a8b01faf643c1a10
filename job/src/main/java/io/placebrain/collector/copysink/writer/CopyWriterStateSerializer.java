package io.placebrain.collector.copysink.writer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Versioned serializer of {@link CopyWriterState}. Version 1 was empty (savepoints of versions
 * before the prefix was recorded still restore, as state without a prefix); version 2 holds the
 * transaction prefix.
 */
public final class CopyWriterStateSerializer implements SimpleVersionedSerializer<CopyWriterState> {

  static final int VERSION = 2;

  @Override
  public int getVersion() {
    return VERSION;
  }

  @Override
  public byte[] serialize(CopyWriterState state) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeBoolean(state.transactionPrefix() != null);
      if (state.transactionPrefix() != null) {
        out.writeUTF(state.transactionPrefix());
      }
    }
    return bytes.toByteArray();
  }

  @Override
  public CopyWriterState deserialize(int version, byte[] serialized) throws IOException {
    switch (version) {
      case 1:
        return CopyWriterState.EMPTY;
      case 2:
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
          return in.readBoolean() ? new CopyWriterState(in.readUTF()) : CopyWriterState.EMPTY;
        }
      default:
        throw new IOException(
            "Unknown version "
                + version
                + " of COPY sink writer state; this build reads up to "
                + VERSION);
    }
  }
}
