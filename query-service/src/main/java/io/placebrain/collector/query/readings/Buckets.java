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

  /**
   * Start of the bucket that holds {@code time}. Exact for any instant and any positive width of
   * whole microseconds: the arithmetic is done on {@link Duration}s (seconds and nanos), never on a
   * single long of nanoseconds, which overflows 292 years from the origin.
   */
  public static Instant start(Instant time, Duration width) {
    requirePositive(width);
    Duration offset = Duration.between(ORIGIN, time);
    // dividedBy truncates toward zero; step back one bucket for times before a boundary.
    long index = offset.dividedBy(width);
    Instant start = ORIGIN.plus(width.multipliedBy(index));
    if (start.isAfter(time)) {
      start = start.minus(width);
    }
    return start;
  }

  /**
   * How many buckets cover {@code [from, to)}: from the one holding {@code from} to the last; 0
   * when {@code to} is not after {@code from}. Exact for any instants.
   */
  public static long count(Instant from, Instant to, Duration width) {
    requirePositive(width);
    if (!to.isAfter(from)) {
      return 0;
    }
    Duration span = Duration.between(start(from, width), to);
    long whole = span.dividedBy(width);
    return width.multipliedBy(whole).equals(span) ? whole : whole + 1;
  }

  private static void requirePositive(Duration width) {
    if (width.isNegative() || width.isZero()) {
      throw new IllegalArgumentException("bucket width must be positive, not " + width);
    }
  }
}
