package io.placebrain.collector.query.readings;

import java.time.Duration;
import java.time.Instant;

/**
 * Fixed-width time buckets aligned like TimescaleDB's {@code time_bucket}: to multiples of the
 * width counted from its default origin, Monday 2000-01-03 00:00 UTC. The plain-SQL aggregation
 * uses {@code date_bin} with the same origin, so both storage modes answer with the same buckets.
 */
public final class Buckets {

  public static final Instant ORIGIN = Instant.parse("2000-01-03T00:00:00Z");

  /** The same origin as a SQL literal. */
  static final String ORIGIN_SQL = "TIMESTAMPTZ '2000-01-03 00:00:00+00'";

  private Buckets() {}

  /** Start of the bucket that holds {@code time}. */
  public static Instant start(Instant time, Duration width) {
    long widthMicros = micros(width);
    long offset = micros(Duration.between(ORIGIN, time));
    return ORIGIN.plus(Duration.ofNanos(Math.floorDiv(offset, widthMicros) * widthMicros * 1000));
  }

  /** How many buckets cover {@code [from, to)}: from the one holding {@code from} to the last. */
  public static long count(Instant from, Instant to, Duration width) {
    long span = micros(Duration.between(start(from, width), to));
    return Math.max(0, -Math.floorDiv(-span, micros(width)));
  }

  private static long micros(Duration duration) {
    return duration.getSeconds() * 1_000_000 + duration.getNano() / 1000;
  }
}
