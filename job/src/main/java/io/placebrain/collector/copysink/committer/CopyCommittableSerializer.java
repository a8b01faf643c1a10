package io.placebrain.collector.copysink.committer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Versioned serializer of {@link CopyCommittable}, stored in checkpoints. */
public final class CopyCommittableSerializer implements SimpleVersionedSerializer<CopyCommittable> {

  static final int VERSION = 1;

  @Override
  public int getVersion() {
    return VERSION;
  }

  @Override
  public byte[] serialize(CopyCommittable committable) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeUTF(committable.transactionId());
      out.writeLong(committable.rows());
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
      default:
        throw new IOException(
            "Unknown version "
                + version
                + " of a COPY sink committable; this build reads "
                + VERSION);
    }
  }
}
