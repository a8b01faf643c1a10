package io.placebrain.collector.storage;

import java.io.Serializable;
import java.time.Duration;

/**
 * How long readings are kept and when they are compressed.
 *
 * @param retention readings older than this are dropped (TimescaleDB retention policy, or dropped
 *     partitions on plain PostgreSQL)
 * @param compressAfter readings older than this are compressed (TimescaleDB only)
 * @param partitionsAhead how many daily partitions plain PostgreSQL keeps ready beyond today
 */
public record SchemaSettings(Duration retention, Duration compressAfter, int partitionsAhead)
    implements Serializable {

  public static final SchemaSettings DEFAULTS =
      new SchemaSettings(Duration.ofDays(90), Duration.ofDays(7), 3);

  public SchemaSettings {
    if (retention.isNegative() || retention.isZero()) {
      throw new IllegalArgumentException("retention must be positive, got " + retention);
    }
    if (compressAfter.isNegative() || compressAfter.isZero()) {
      throw new IllegalArgumentException("compressAfter must be positive, got " + compressAfter);
    }
    // Readings may carry a time up to a day ahead; their partition must already exist.
    if (partitionsAhead < 2) {
      throw new IllegalArgumentException(
          "partitionsAhead must be at least 2, got " + partitionsAhead);
    }
  }
}
