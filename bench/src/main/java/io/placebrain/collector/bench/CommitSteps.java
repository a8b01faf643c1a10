package io.placebrain.collector.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * The committed-row count of a job run as it steps up, one step per committed checkpoint; gives the
 * rate at full speed, between the first step and the last but one. That leaves out the job's fixed
 * costs: deployment and the first checkpoint before the first step, and the last step's wait for a
 * checkpoint after the input ran out.
 */
final class CommitSteps {

  private final List<long[]> steps = new ArrayList<>();

  /** A count polled at {@code nanos}; only a change is a step. */
  void observe(long nanos, long committed) {
    if (committed > 0 && (steps.isEmpty() || steps.get(steps.size() - 1)[1] != committed)) {
      steps.add(new long[] {nanos, committed});
    }
  }

  /** Rows per second between the first step and the last but one; NaN with fewer than 3 steps. */
  double sustainedRowsPerSecond() {
    if (steps.size() < 3) {
      return Double.NaN;
    }
    long[] first = steps.get(0);
    long[] lastFull = steps.get(steps.size() - 2);
    return (lastFull[1] - first[1]) / ((lastFull[0] - first[0]) / 1e9);
  }
}
