package io.placebrain.collector.job;

import io.placebrain.collector.testing.postgres.TestDatabase;
import java.time.Instant;
import java.util.List;

/**
 * Readings whose value is their sequence number, one per second from a base time, for a set of
 * devices: what the exactly-once tests produce and count, so a duplicate or a gap shows in the
 * numbers.
 */
final class SequenceReadings {

  private SequenceReadings() {}

  /** Readings {@code from} (inclusive) to {@code to} (exclusive) of every device. */
  static void produce(JobHarness harness, List<String> devices, Instant base, int from, int to) {
    for (int n = from; n < to; n++) {
      for (String device : devices) {
        harness.kafka.send(
            harness.telemetryTopic,
            device,
            harness.telemetry(device, "seq", n, base.plusSeconds(n).toString()));
      }
    }
  }

  /** Sequence readings of these devices stored so far. */
  static long stored(TestDatabase db, List<String> devices) throws Exception {
    return db.queryLong(
        "SELECT count(*) FROM readings WHERE key = 'seq' AND device_id IN ("
            + inList(devices)
            + ")");
  }

  /** The devices as an SQL list of literals. */
  static String inList(List<String> devices) {
    StringBuilder list = new StringBuilder();
    for (String device : devices) {
      if (list.length() > 0) {
        list.append(", ");
      }
      list.append('\'').append(device).append('\'');
    }
    return list.toString();
  }
}
