package io.placebrain.collector.query.grpc;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusException;
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

  // Protobuf's Timestamp range: 0001-01-01 to 9999-12-31.
  private static final long MIN_SECONDS = -62_135_596_800L;
  private static final long MAX_SECONDS = 253_402_300_799L;

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

  static Instant instant(Timestamp value, String field) throws StatusException {
    if (value.getSeconds() < MIN_SECONDS
        || value.getSeconds() > MAX_SECONDS
        || value.getNanos() < 0
        || value.getNanos() > 999_999_999) {
      throw invalid(field + " is not a valid timestamp");
    }
    return Instant.ofEpochSecond(value.getSeconds(), value.getNanos());
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

  private static String shorten(String value) {
    return value.length() <= 60 ? value : value.substring(0, 60) + "…";
  }
}
