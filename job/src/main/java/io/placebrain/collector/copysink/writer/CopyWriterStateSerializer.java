package io.placebrain.collector.copysink.writer;

import java.io.IOException;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Versioned serializer of the (empty) {@link CopyWriterState}. */
public final class CopyWriterStateSerializer implements SimpleVersionedSerializer<CopyWriterState> {

  static final int VERSION = 1;

  @Override
  public int getVersion() {
    return VERSION;
  }

  @Override
  public byte[] serialize(CopyWriterState state) {
    return new byte[0];
  }

  @Override
  public CopyWriterState deserialize(int version, byte[] serialized) throws IOException {
    if (version != VERSION) {
      throw new IOException(
          "Unknown version " + version + " of COPY sink writer state; this build reads " + VERSION);
    }
    return CopyWriterState.EMPTY;
  }
}
