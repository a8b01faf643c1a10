package io.placebrain.collector.query.grpc;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusException;
import io.placebrain.collector.proto.GetReadingsRequest;
import io.placebrain.collector.query.readings.Buckets;
import io.placebrain.collector.query.readings.ReadingsQueries;
import io.placebrain.collector.query.readings.ReadingsRange;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/** Checks request fields; every failure is INVALID_ARGUMENT naming the field and the problem. */
final class Requests {

  /** The canonical 8-4-4-4-12 form; {@link UUID#fromString} alone also takes "1-2-3-4-5". */
  private static final Pattern UUID_TEXT =
      Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  static final int MAX_KEY_LENGTH = 100;
  static final int MAX_IDS = 10_000;

  /** The widest range GetReadings answers with raw points. */
  static final Duration MAX_RAW_RANGE = Duration.ofHours(2);

  /**
   * The earliest time any request may name. Narrower than protobuf's Timestamp range (years 1 to
   * 9999) on purpose: within 1900 to 2200 every range, bucket count and offset is computed without
   * overflow, in Java and in PostgreSQL alike.
   */
  public static final Instant MIN_TIME = Instant.parse("1900-01-01T00:00:00Z");

  /** The latest time any request may name (inclusive, so it can be the end of a range). */
  public static final Instant MAX_TIME = Instant.parse("2200-01-01T00:00:00Z");

  private Requests() {}

  static StatusException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asException();
  }

  static UUID uuid(String value, String field) throws StatusException {
    if (value.isEmpty()) {
      throw invalid(field + " is required");
    }
    if (!UUID_TEXT.matcher(value).matches()) {
      throw invalid(field + " '" + shorten(value) + "' is not a UUID");
    }
    return UUID.fromString(value);
  }

  /** Distinct ids in request order; at least one, at most {@link #MAX_IDS}. */
  static List<UUID> uuids(List<String> values, String field) throws StatusException {
    if (values.isEmpty()) {
      throw invalid(field + " must name at least one id");
    }
    if (values.size() > MAX_IDS) {
      throw invalid(field + " names " + values.size() + " ids; at most " + MAX_IDS);
    }
    Set<UUID> ids = new LinkedHashSet<>();
    for (int i = 0; i < values.size(); i++) {
      ids.add(uuid(values.get(i), field + "[" + i + "]"));
    }
    return new ArrayList<>(ids);
  }

  static Instant instant(boolean present, Timestamp value, String field) throws StatusException {
    if (!present) {
      throw invalid(field + " is required");
    }
    return instant(value, field);
  }

  /**
   * A timestamp from {@link #MIN_TIME} to {@link #MAX_TIME}, nanos in 0..999,999,999. Checked on
   * the raw fields before any arithmetic, so no value of either field can overflow.
   */
  static Instant instant(Timestamp value, String field) throws StatusException {
    if (value.getNanos() < 0 || value.getNanos() > 999_999_999) {
      throw invalid(field + " is not a valid timestamp (nanos " + value.getNanos() + ")");
    }
    long seconds = value.getSeconds();
    if (seconds < MIN_TIME.getEpochSecond()
        || seconds > MAX_TIME.getEpochSecond()
        || (seconds == MAX_TIME.getEpochSecond() && value.getNanos() > 0)) {
      throw invalid(
          field
              + " must be between "
              + MIN_TIME
              + " and "
              + MAX_TIME
              + " (seconds "
              + seconds
              + " is outside)");
    }
    return Instant.ofEpochSecond(seconds, value.getNanos());
  }

  static void requireOrdered(Instant from, Instant to) throws StatusException {
    if (from != null && to != null && !from.isBefore(to)) {
      throw invalid("from (" + from + ") must be before to (" + to + ")");
    }
  }

  /** Distinct keys in request order; empty means every key. */
  static List<String> keys(List<String> values) throws StatusException {
    if (values.size() > MAX_IDS) {
      throw invalid("keys names " + values.size() + " keys; at most " + MAX_IDS);
    }
    Set<String> keys = new LinkedHashSet<>();
    for (int i = 0; i < values.size(); i++) {
      String key = values.get(i);
      // Characters as PostgreSQL (and the job) count them: code points, not UTF-16 units.
      if (key.isEmpty() || key.codePointCount(0, key.length()) > MAX_KEY_LENGTH) {
        throw invalid("keys[" + i + "] must have 1 to " + MAX_KEY_LENGTH + " characters");
      }
      keys.add(key);
    }
    return new ArrayList<>(keys);
  }

  /** A validated GetReadings request: raw points when {@code width} is null, else buckets. */
  record Readings(ReadingsRange range, Duration width) {}

  /**
   * Validates every field of a GetReadings request. Every range it accepts lies within {@link
   * #MIN_TIME} to {@link #MAX_TIME}, and holds at most two hours (raw) or {@link
   * ReadingsQueries#MAX_ROWS} buckets per key.
   */
  static Readings readings(GetReadingsRequest request) throws StatusException {
    UUID device = uuid(request.getDeviceId(), "device_id");
    List<String> keys = keys(request.getKeysList());
    Instant from = instant(request.hasFrom(), request.getFrom(), "from");
    Instant to = instant(request.hasTo(), request.getTo(), "to");
    requireOrdered(from, to);
    int intervalSeconds = request.getIntervalSeconds();
    if (intervalSeconds < 0) {
      throw invalid(
          "interval_seconds must be 0 (raw points) or positive (buckets), not " + intervalSeconds);
    }
    ReadingsRange range = new ReadingsRange(device, keys, from, to);
    if (intervalSeconds == 0) {
      Duration span = Duration.between(from, to);
      if (span.compareTo(MAX_RAW_RANGE) > 0) {
        throw invalid(
            "raw points (interval_seconds = 0) cover at most 2 hours; this range is "
                + span
                + ": ask for buckets with interval_seconds > 0");
      }
      return new Readings(range, null);
    }
    Duration width = Duration.ofSeconds(intervalSeconds);
    long buckets = Buckets.count(from, to, width);
    if (buckets > ReadingsQueries.MAX_ROWS) {
      throw invalid(
          "interval_seconds "
              + intervalSeconds
              + " makes "
              + buckets
              + " buckets per key; at most "
              + ReadingsQueries.MAX_ROWS
              + ": use a longer interval or a shorter range");
    }
    return new Readings(range, width);
  }

  private static String shorten(String value) {
    return value.length() <= 60 ? value : value.substring(0, 60) + "…";
  }
}
