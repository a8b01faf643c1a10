package io.placebrain.collector.job;

import io.placebrain.collector.telemetry.Reading;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Passes readings on, slowly enough that a test spans several checkpoints, and fails once when the
 * plan says so.
 */
final class FailingMap implements MapFunction<Reading, Reading> {

  private final long pauseEveryRecords;

  FailingMap(long pauseEveryRecords) {
    this.pauseEveryRecords = pauseEveryRecords;
  }

  @Override
  public Reading map(Reading reading) throws Exception {
    long seen = FailurePlan.recordsSeen.incrementAndGet();
    if (FailurePlan.strike(FailurePlan.Point.WHILE_BUFFERED, seen)
        || FailurePlan.strike(FailurePlan.Point.DURING_RECOVERY, seen)) {
      throw FailurePlan.failure("in a map before the sink after " + seen + " records");
    }
    if (pauseEveryRecords > 0 && seen % pauseEveryRecords == 0) {
      Thread.sleep(1);
    }
    return reading;
  }
}
