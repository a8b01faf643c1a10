package io.placebrain.collector.readings;

import io.placebrain.collector.storage.DeviceData;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.flink.connector.postgres.copy.AfterCommitAction;
import io.placebrain.flink.connector.postgres.copy.AfterCommitStatement;
import io.placebrain.flink.connector.postgres.copy.BinaryCopyBuffer;
import io.placebrain.flink.connector.postgres.copy.CopyRowEncoder;
import io.placebrain.flink.connector.postgres.copy.StatementParameter;
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
   * Checkpoints hold these names and the device id, never the SQL: keep the names while checkpoints
   * may hold them.
   */
  static final AfterCommitStatement DELETE_ALERTS =
      AfterCommitStatement.of("delete_device_alerts", DeviceData.DELETE_DEVICE_ALERTS);

  static final AfterCommitStatement DELETE_READINGS =
      AfterCommitStatement.of("delete_device_readings", DeviceData.DELETE_DEVICE_READINGS);

  static final AfterCommitStatement DELETE_REJECTED_ROWS =
      AfterCommitStatement.of(
          "delete_device_rejected_rows", DeviceData.DELETE_DEVICE_REJECTED_ROWS);

  @Override
  public List<AfterCommitStatement> afterCommitStatements() {
    return List.of(DELETE_ALERTS, DELETE_READINGS, DELETE_REJECTED_ROWS);
  }

  @Override
  public List<AfterCommitAction> afterCommitActions(Reading reading) {
    if (!reading.deviceDeletion) {
      return null;
    }
    StatementParameter device = StatementParameter.uuid(reading.deviceId());
    return List.of(
        DELETE_ALERTS.bind(device),
        DELETE_READINGS.bind(device),
        DELETE_REJECTED_ROWS.bind(device));
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
