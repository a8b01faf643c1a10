package io.placebrain.collector.job;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * When planned failures strike, shared across the operators of a job on the in-JVM MiniCluster
 * (operators are serialised copies, so the plan lives in static fields). Each failure strikes once
 * per test.
 */
final class FailurePlan {

  /** Where a failure strikes. */
  enum Point {
    NONE,
    /** In a map before the sink, while the writer buffers rows of an open transaction. */
    WHILE_BUFFERED,
    /** In the writer's snapshot: its transaction is prepared, the checkpoint cannot complete. */
    AFTER_PREPARE,
    /** In the committer, before it commits a completed checkpoint's transactions. */
    BEFORE_COMMIT,
    /** In the committer, after the database committed but before Flink learns of it. */
    DURING_COMMIT,
    /** In a map while buffered, then again while the writer starts from the checkpoint. */
    DURING_RECOVERY
  }

  static volatile Point point = Point.NONE;

  /** Failures strike once this many records passed the failure map, or checkpoints completed. */
  static volatile long threshold;

  static final AtomicLong recordsSeen = new AtomicLong();

  /** The highest checkpoint the sink writers snapshotted. */
  static final AtomicLong checkpointsSeen = new AtomicLong();

  static final AtomicInteger failuresInjected = new AtomicInteger();
  static final AtomicInteger recoveryFailuresInjected = new AtomicInteger();

  private FailurePlan() {}

  static void arm(Point where, long after) {
    point = where;
    threshold = after;
    recordsSeen.set(0);
    failuresInjected.set(0);
    recoveryFailuresInjected.set(0);
  }

  /** Whether the planned failure at {@code where} should strike now; true only once. */
  static boolean strike(Point where, long progress) {
    return point == where && progress >= threshold && failuresInjected.compareAndSet(0, 1);
  }

  static RuntimeException failure(String where) {
    return new RuntimeException("Planned failure " + where);
  }
}
