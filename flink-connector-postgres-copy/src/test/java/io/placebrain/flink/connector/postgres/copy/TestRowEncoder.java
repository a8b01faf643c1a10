package io.placebrain.flink.connector.postgres.copy;

import java.util.List;

/** Encodes {@link TestRow}s into {@code measurements}; a deletion becomes its DELETE statements. */
public final class TestRowEncoder implements CopyRowEncoder<TestRow> {

  public static final String TABLE = "measurements";

  /** The test table, with no index or constraint the tests do not add themselves. */
  public static final String DDL =
      "CREATE TABLE IF NOT EXISTS measurements"
          + " (time timestamptz, device_id uuid, key text, value float8)";

  private static final List<String> COLUMNS = List.of("time", "device_id", "key", "value");

  @Override
  public List<String> columns() {
    return COLUMNS;
  }

  @Override
  public void encode(TestRow row, BinaryCopyBuffer buffer) {
    buffer.startRow(4);
    buffer.timestampMicros(row.timeMicros);
    buffer.uuid(row.device.getMostSignificantBits(), row.device.getLeastSignificantBits());
    buffer.text(row.key);
    buffer.float8(row.value);
  }

  /** Three statements, as an application deleting a device from several tables would run. */
  @Override
  public List<String> afterCommitStatements(TestRow row) {
    if (!row.deletion) {
      return null;
    }
    String device = "'" + row.device + "'";
    return List.of(
        "DELETE FROM measurements WHERE device_id = " + device + " AND value < 0",
        "DELETE FROM measurements WHERE device_id = " + device + " AND key IS NULL",
        "DELETE FROM measurements WHERE device_id = " + device);
  }

  @Override
  public String describe(TestRow row) {
    return row.toString();
  }
}
