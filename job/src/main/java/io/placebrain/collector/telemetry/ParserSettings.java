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
 * @param maxAge readings older than this are rejected, or null for no such limit; the job sets it
 *     to the storage retention, since such a reading would be deleted as soon as it was stored
 * @param maxValuesPerRecord a record with more values than this is rejected whole, without reading
 *     the rest (default 10,000): it bounds the rows and the work one record can cause
 */
public record ParserSettings(
    Instant earliest,
    Duration maxAhead,
    int maxRecordBytes,
    Duration maxAge,
    int maxValuesPerRecord)
    implements Serializable {

  public static final int DEFAULT_MAX_VALUES_PER_RECORD = 10_000;

  public static final ParserSettings DEFAULTS =
      new ParserSettings(Instant.parse("2000-01-01T00:00:00Z"), Duration.ofDays(1), 1 << 20, null);

  /** Settings with the default cap on values per record. */
  public ParserSettings(Instant earliest, Duration maxAhead, int maxRecordBytes, Duration maxAge) {
    this(earliest, maxAhead, maxRecordBytes, maxAge, DEFAULT_MAX_VALUES_PER_RECORD);
  }

  public ParserSettings {
    if (maxAhead.isNegative()) {
      throw new IllegalArgumentException("maxAhead must not be negative, got " + maxAhead);
    }
    if (maxAge != null && (maxAge.isNegative() || maxAge.isZero())) {
      throw new IllegalArgumentException("maxAge must be positive, got " + maxAge);
    }
    if (maxRecordBytes <= 0) {
      throw new IllegalArgumentException("maxRecordBytes must be positive, got " + maxRecordBytes);
    }
    if (maxValuesPerRecord <= 0) {
      throw new IllegalArgumentException(
          "maxValuesPerRecord must be positive, got " + maxValuesPerRecord);
    }
  }
}
