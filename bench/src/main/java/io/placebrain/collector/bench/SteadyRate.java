package io.placebrain.collector.bench;

/**
 * The rate of a job run at full speed: rows the sink sent between 10 % and 90 % of the input, over
 * the time between, so the job's fixed costs (deployment and warm-up before, the wait for the last
 * checkpoint and its commit after) are left out, as a job running for days sees it. Sent rows are
 * counted in whole batches (20,000 rows a subtask), a fraction of a per cent of the span measured.
 */
final class SteadyRate {

  private final long from;
  private final long to;
  private long fromNanos = -1;
  private long fromRows;
  private long toNanos = -1;
  private long toRows;

  SteadyRate(long expected) {
    this.from = expected / 10;
    this.to = expected * 9 / 10;
  }

  /** Rows sent so far, polled at {@code nanos}. */
  void observe(long nanos, long sent) {
    if (fromNanos < 0 && sent >= from) {
      fromNanos = nanos;
      fromRows = sent;
    } else if (fromNanos >= 0 && toNanos < 0 && sent >= to) {
      toNanos = nanos;
      toRows = sent;
    }
  }

  /** Rows per second between the two marks; NaN if the run did not pass both. */
  double rowsPerSecond() {
    if (fromNanos < 0 || toNanos <= fromNanos) {
      return Double.NaN;
    }
    return (toRows - fromRows) / ((toNanos - fromNanos) / 1e9);
  }
}
