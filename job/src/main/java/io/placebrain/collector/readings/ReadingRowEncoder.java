package io.placebrain.collector.readings;

import io.placebrain.collector.storage.DeviceData;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.flink.connector.postgres.copy.BinaryCopyBuffer;
import io.placebrain.flink.connector.postgres.copy.CopyRowEncoder;
import java.util.List;

/** A reading as a row of {@code readings (time, device_id, key, value)}. */
public final class ReadingRowEncoder implements CopyRowEncoder<Reading> {

  private static final List<String> COLUMNS = List.of("time", "device_id", "key", "value");

  @Override
  public List<String> columns() {
    return COLUMNS;
  }

  /**
   * A deleted device's marker becomes the cascading delete of its alerts, then its readings. It
   * runs after every transaction that may still hold rows of the device has committed, so none of
   * them can reappear (see {@link io.placebrain.collector.thresholds.ThresholdEvaluator}).
   */
  @Override
  public List<String> afterCommitStatements(Reading reading) {
    if (!reading.deviceDeletion) {
      return null;
    }
    return DeviceData.deletionStatements(reading.deviceId());
  }

  @Override
  public void encode(Reading reading, BinaryCopyBuffer row) {
    row.startRow(4);
    row.timestampMicros(reading.timeMicros);
    row.uuid(reading.deviceIdHigh, reading.deviceIdLow);
    row.text(reading.key);
    row.float8(reading.value);
  }
}
