package io.placebrain.collector.query.internal;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds the queries whose cost grows with the data (readings ranges and aggregates, alert pages
 * and counts): at most {@code query.max-concurrent} run at once, at most {@code query.max-queued}
 * more wait in arrival order, and any further call is refused at once with RESOURCE_EXHAUSTED. A
 * waiting call waits no longer than its deadline (and {@code query.timeout}), so one client
 * flooding the service slows down only heavy calls, within bounds, and cannot take every database
 * connection from the light ones.
 */
public final class HeavyQueries {

  /** Work run while holding one of the permits. */
  @FunctionalInterface
  public interface Work<T> {
    T run() throws StatusException;
  }

  private final int maxConcurrent;
  private final int maxQueued;
  private final Duration maxWait;
  private final Semaphore permits;
  private final AtomicInteger queued = new AtomicInteger();

  public HeavyQueries(int maxConcurrent, int maxQueued, Duration maxWait) {
    if (maxConcurrent < 1 || maxQueued < 0) {
      throw new IllegalArgumentException(
          "maxConcurrent must be positive and maxQueued not negative");
    }
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
    this.maxWait = maxWait;
    this.permits = new Semaphore(maxConcurrent, true);
  }

  /** Runs {@code work} once a permit is free; refuses when the queue is full. */
  public <T> T run(Work<T> work) throws StatusException {
    acquire();
    try {
      return work.run();
    } finally {
      permits.release();
    }
  }

  /** Calls waiting for a permit, for tests and diagnostics. */
  public int queued() {
    return queued.get();
  }

  /** Calls holding a permit, for tests and diagnostics. */
  public int running() {
    return maxConcurrent - permits.availablePermits();
  }

  private void acquire() throws StatusException {
    try {
      // tryAcquire with a timeout honours fairness: it never overtakes a waiting call.
      if (permits.tryAcquire(0, TimeUnit.MILLISECONDS)) {
        return;
      }
      if (queued.incrementAndGet() > maxQueued) {
        queued.decrementAndGet();
        throw Status.RESOURCE_EXHAUSTED
            .withDescription(
                "the service is busy: "
                    + maxConcurrent
                    + " heavy queries are running and "
                    + maxQueued
                    + " waiting (query.max-concurrent, query.max-queued); retry with backoff")
            .asException();
      }
      try {
        if (!permits.tryAcquire(waitMillis(), TimeUnit.MILLISECONDS)) {
          throw Status.DEADLINE_EXCEEDED
              .withDescription(
                  "waited for a free query slot until the deadline (or query.timeout) passed")
              .asException();
        }
      } finally {
        queued.decrementAndGet();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED
          .withDescription("interrupted while waiting for a query slot")
          .asException();
    }
    if (Context.current().isCancelled()) {
      permits.release();
      throw Status.CANCELLED.withDescription("the call was cancelled").asException();
    }
  }

  private long waitMillis() {
    long millis = maxWait.toMillis();
    Deadline deadline = Context.current().getDeadline();
    if (deadline != null) {
      millis = Math.min(millis, deadline.timeRemaining(TimeUnit.MILLISECONDS));
    }
    return Math.max(0, millis);
  }
}
