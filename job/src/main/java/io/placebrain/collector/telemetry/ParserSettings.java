package io.placebrain.collector.telemetry;

import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;

/**
 * Limits that telemetry must respect to be accepted.
 *
 * @param earliest readings before this time are rejected (default 2000-01-01)
 * @param maxAhead readings further ahead of the wall clock than this are rejected (default 1 day)
 * @param maxRecordBytes records larger than this are rejected unparsed (default 1 MiB)
 */
public record ParserSettings(Instant earliest, Duration maxAhead, int maxRecordBytes)
    implements Serializable {

  public static final int MAX_KEY_LENGTH = 100;

  public static final ParserSettings DEFAULTS =
      new ParserSettings(Instant.parse("2000-01-01T00:00:00Z"), Duration.ofDays(1), 1 << 20);

  public ParserSettings {
    if (maxAhead.isNegative()) {
      throw new IllegalArgumentException("maxAhead must not be negative, got " + maxAhead);
    }
    if (maxRecordBytes <= 0) {
      throw new IllegalArgumentException("maxRecordBytes must be positive, got " + maxRecordBytes);
    }
  }
}
