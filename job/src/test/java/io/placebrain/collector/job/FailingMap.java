package io.placebrain.collector.job;

import io.placebrain.collector.telemetry.Reading;
import org.apache.flink.api.common.functions.MapFunction;

/** Passes readings on and fails once, where the plan says, while the sink buffers rows. */
final class FailingMap implements MapFunction<Reading, Reading> {

  @Override
  public Reading map(Reading reading) {
    long seen = FailurePlan.recordsSeen.incrementAndGet();
    if (FailurePlan.strike(FailurePlan.Point.WHILE_BUFFERED, seen)
        || FailurePlan.strike(FailurePlan.Point.DURING_RECOVERY, seen)) {
      throw FailurePlan.failure("in a map before the sink after " + seen + " records");
    }
    return reading;
  }
}
