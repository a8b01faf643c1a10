package io.placebrain.collector.telemetry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.telemetry.Reading;
import java.util.UUID;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SerializerTestBase;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/**
 * Flink's own serializer contract checks (copy, round trips, snapshot and its restore, thread
 * safety), plus: Flink picks this serializer for {@link Reading} wherever it meets the type.
 */
class ReadingSerializerTest extends SerializerTestBase<Reading> {

  private static final UUID DEVICE = UUID.fromString("0b6f2b44-6a7e-4b0c-9d43-2f1f3f1e4a10");
  private static final UUID PLACE = UUID.fromString("9a1c7e52-1d2b-4c3d-8e4f-5a6b7c8d9e0f");

  @Override
  protected TypeSerializer<Reading> createSerializer() {
    return new ReadingSerializer();
  }

  @Override
  protected int getLength() {
    return -1;
  }

  @Override
  protected Class<Reading> getTypeClass() {
    return Reading.class;
  }

  @Override
  protected Reading[] getTestData() {
    return new Reading[] {
      new Reading(1_700_000_000_123_456L, DEVICE, PLACE, "temp", 21.5),
      new Reading(-62_135_596_800_000_000L, PLACE, DEVICE, "humidité ☃", Double.NaN),
      new Reading(253_402_300_799_999_999L, DEVICE, PLACE, "", -0.0),
      new Reading(0L, DEVICE, PLACE, "k".repeat(300), Double.NEGATIVE_INFINITY),
      Reading.deletionOf(DEVICE)
    };
  }

  @Test
  void flinkUsesItForReadings() {
    TypeInformation<Reading> type = TypeInformation.of(Reading.class);

    assertThat(type).isInstanceOf(ReadingTypeInfo.class);
    assertThat(type.createSerializer(new SerializerConfigImpl()))
        .isInstanceOf(ReadingSerializer.class);
  }

  @Test
  void aSnapshotRestoresTheSameSerializerCompatibleAsIs() throws Exception {
    DataOutputSerializer out = new DataOutputSerializer(64);
    TypeSerializerSnapshot.writeVersionedSnapshot(
        out, ReadingSerializer.INSTANCE.snapshotConfiguration());

    TypeSerializerSnapshot<Reading> restored =
        TypeSerializerSnapshot.readVersionedSnapshot(
            new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());

    assertThat(restored.restoreSerializer()).isSameAs(ReadingSerializer.INSTANCE);
    assertThat(
            ReadingSerializer.INSTANCE
                .snapshotConfiguration()
                .resolveSchemaCompatibility(restored)
                .isCompatibleAsIs())
        .isTrue();
  }
}
