package io.placebrain.flink.connector.postgres.copy;

import java.util.UUID;

/**
 * A generic row for the connector's tests: a measurement of {@code measurements (time, device_id,
 * key, value)}, or the instruction to delete a device's rows once what came before is committed.
 */
public final class TestRow {

  public final long timeMicros;
  public final UUID device;
  public final String key;
  public final double value;
  public final boolean deletion;

  public TestRow(long timeMicros, UUID device, String key, double value) {
    this(timeMicros, device, key, value, false);
  }

  private TestRow(long timeMicros, UUID device, String key, double value, boolean deletion) {
    this.timeMicros = timeMicros;
    this.device = device;
    this.key = key;
    this.value = value;
    this.deletion = deletion;
  }

  /** The instruction to delete every row of {@code device}. */
  public static TestRow deletionOf(UUID device) {
    return new TestRow(0, device, null, 0, true);
  }

  @Override
  public String toString() {
    return deletion
        ? "deletion of " + device
        : "TestRow{" + timeMicros + ", " + device + ", " + key + ", " + value + "}";
  }
}
