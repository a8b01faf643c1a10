package io.placebrain.flink.connector.postgres.copy.committer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.apache.flink.annotation.Internal;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Versioned serializer of {@link CopyCommittable}, stored in checkpoints. */
@Internal
public final class CopyCommittableSerializer implements SimpleVersionedSerializer<CopyCommittable> {

  static final int VERSION = 3;

  @Override
  public int getVersion() {
    return VERSION;
  }

  @Override
  public byte[] serialize(CopyCommittable committable) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeBoolean(committable.transactionId() != null);
      if (committable.transactionId() != null) {
        out.writeUTF(committable.transactionId());
      }
      out.writeLong(committable.rows());
      out.writeInt(committable.afterCommit().size());
      for (String statement : committable.afterCommit()) {
        out.writeUTF(statement);
      }
      out.writeLong(committable.transactionXid());
    }
    return bytes.toByteArray();
  }

  @Override
  public CopyCommittable deserialize(int version, byte[] serialized) throws IOException {
    switch (version) {
      case 1:
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
          return new CopyCommittable(in.readUTF(), in.readLong());
        }
      case 2:
      case 3:
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
          String transactionId = in.readBoolean() ? in.readUTF() : null;
          long rows = in.readLong();
          int statements = in.readInt();
          java.util.List<String> afterCommit = new java.util.ArrayList<>(statements);
          for (int i = 0; i < statements; i++) {
            afterCommit.add(in.readUTF());
          }
          long xid = version >= 3 ? in.readLong() : 0;
          return new CopyCommittable(transactionId, rows, afterCommit, xid);
        }
      default:
        throw new IOException(
            "Unknown version "
                + version
                + " of a COPY sink committable; this build reads "
                + VERSION);
    }
  }
}
