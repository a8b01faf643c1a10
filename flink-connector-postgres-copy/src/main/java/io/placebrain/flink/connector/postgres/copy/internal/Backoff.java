package io.placebrain.flink.connector.postgres.copy.internal;

import java.time.Duration;
import org.apache.flink.annotation.Internal;

/** Exponential pauses between attempts: initial, doubled each time, capped. */
@Internal
public final class Backoff {

  private final long initialMillis;
  private final long maxMillis;
  private long nextMillis;

  public Backoff(Duration initial, Duration max) {
    this.initialMillis = Math.max(1, initial.toMillis());
    this.maxMillis = Math.max(initialMillis, max.toMillis());
    this.nextMillis = initialMillis;
  }

  /** Sleeps for the current pause and doubles the next one. */
  public void pause() throws InterruptedException {
    long pause = nextMillis;
    nextMillis = Math.min(maxMillis, nextMillis * 2);
    Thread.sleep(pause);
  }

  public long nextPauseMillis() {
    return nextMillis;
  }

  public void reset() {
    nextMillis = initialMillis;
  }
}
