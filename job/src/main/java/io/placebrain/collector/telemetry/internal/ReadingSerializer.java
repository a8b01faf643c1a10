package io.placebrain.collector.telemetry.internal;

import io.placebrain.collector.telemetry.Reading;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Writes a {@link Reading} field by field, without the reflection of Flink's POJO serializer: the
 * readings cross the {@code keyBy} shuffle (and are copied between chained operators) once each, so
 * this sits on the job's hottest path. A deletion marker is written as its flag and device id only.
 *
 * <p>Readings are not held in keyed or operator state; the format still has a snapshot (and a
 * version) because unaligned checkpoints store in-flight records with it.
 */
public final class ReadingSerializer extends TypeSerializerSingleton<Reading> {

  public static final ReadingSerializer INSTANCE = new ReadingSerializer();

  private static final byte READING = 0;
  private static final byte DEVICE_DELETION = 1;

  @Override
  public boolean isImmutableType() {
    return false;
  }

  @Override
  public Reading createInstance() {
    return new Reading();
  }

  @Override
  public Reading copy(Reading from) {
    return copy(from, new Reading());
  }

  @Override
  public Reading copy(Reading from, Reading reuse) {
    reuse.timeMicros = from.timeMicros;
    reuse.deviceIdHigh = from.deviceIdHigh;
    reuse.deviceIdLow = from.deviceIdLow;
    reuse.placeIdHigh = from.placeIdHigh;
    reuse.placeIdLow = from.placeIdLow;
    reuse.key = from.key;
    reuse.value = from.value;
    reuse.deviceDeletion = from.deviceDeletion;
    return reuse;
  }

  @Override
  public int getLength() {
    return -1;
  }

  @Override
  public void serialize(Reading reading, DataOutputView target) throws IOException {
    if (reading.deviceDeletion) {
      target.writeByte(DEVICE_DELETION);
      target.writeLong(reading.deviceIdHigh);
      target.writeLong(reading.deviceIdLow);
      return;
    }
    target.writeByte(READING);
    target.writeLong(reading.timeMicros);
    target.writeLong(reading.deviceIdHigh);
    target.writeLong(reading.deviceIdLow);
    target.writeLong(reading.placeIdHigh);
    target.writeLong(reading.placeIdLow);
    StringValue.writeString(reading.key, target);
    target.writeDouble(reading.value);
  }

  @Override
  public Reading deserialize(DataInputView source) throws IOException {
    return deserialize(new Reading(), source);
  }

  @Override
  public Reading deserialize(Reading reuse, DataInputView source) throws IOException {
    byte kind = source.readByte();
    if (kind == DEVICE_DELETION) {
      reuse.deviceDeletion = true;
      reuse.deviceIdHigh = source.readLong();
      reuse.deviceIdLow = source.readLong();
      reuse.timeMicros = 0;
      reuse.placeIdHigh = 0;
      reuse.placeIdLow = 0;
      reuse.key = null;
      reuse.value = 0;
      return reuse;
    }
    if (kind != READING) {
      throw new IOException("Not a serialized reading: kind " + kind);
    }
    reuse.deviceDeletion = false;
    reuse.timeMicros = source.readLong();
    reuse.deviceIdHigh = source.readLong();
    reuse.deviceIdLow = source.readLong();
    reuse.placeIdHigh = source.readLong();
    reuse.placeIdLow = source.readLong();
    reuse.key = StringValue.readString(source);
    reuse.value = source.readDouble();
    return reuse;
  }

  @Override
  public void copy(DataInputView source, DataOutputView target) throws IOException {
    serialize(deserialize(source), target);
  }

  @Override
  public TypeSerializerSnapshot<Reading> snapshotConfiguration() {
    return new ReadingSerializerSnapshot();
  }

  /** The format's snapshot: one version so far, nothing to configure. */
  public static final class ReadingSerializerSnapshot
      extends SimpleTypeSerializerSnapshot<Reading> {

    public ReadingSerializerSnapshot() {
      super(() -> INSTANCE);
    }
  }
}
