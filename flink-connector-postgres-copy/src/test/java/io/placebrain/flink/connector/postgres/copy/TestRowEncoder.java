package io.placebrain.flink.connector.postgres.copy;

import java.util.List;

/** Encodes {@link TestRow}s into {@code measurements}; a deletion becomes its DELETE statements. */
public final class TestRowEncoder implements CopyRowEncoder<TestRow> {

  private final List<AfterCommitStatement> statements;

  public TestRowEncoder() {
    this(List.of(DELETE_NEGATIVE, DELETE_UNKEYED, DELETE_DEVICE));
  }

  private TestRowEncoder(List<AfterCommitStatement> statements) {
    this.statements = statements;
  }

  /**
   * An encoder declaring {@code statements} instead of its own: as another version of the job
   * would, with a statement fixed, renamed or gone.
   */
  public static TestRowEncoder declaring(List<AfterCommitStatement> statements) {
    return new TestRowEncoder(statements);
  }

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
  public static final AfterCommitStatement DELETE_NEGATIVE =
      AfterCommitStatement.of(
          "delete_negative", "DELETE FROM measurements WHERE device_id = ? AND value < 0");

  public static final AfterCommitStatement DELETE_UNKEYED =
      AfterCommitStatement.of(
          "delete_unkeyed", "DELETE FROM measurements WHERE device_id = ? AND key IS NULL");

  public static final AfterCommitStatement DELETE_DEVICE =
      AfterCommitStatement.of("delete_device", "DELETE FROM measurements WHERE device_id = ?");

  @Override
  public List<AfterCommitStatement> afterCommitStatements() {
    return statements;
  }

  @Override
  public List<AfterCommitAction> afterCommitActions(TestRow row) {
    if (!row.deletion) {
      return null;
    }
    StatementParameter device = StatementParameter.uuid(row.device);
    return List.of(
        DELETE_NEGATIVE.bind(device), DELETE_UNKEYED.bind(device), DELETE_DEVICE.bind(device));
  }

  @Override
  public String describe(TestRow row) {
    return row.toString();
  }
}
