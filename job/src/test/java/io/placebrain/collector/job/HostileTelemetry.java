package io.placebrain.collector.job;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.UUID;

/**
 * Generates telemetry an IoT fleet will send sooner or later: random bytes, damaged JSON, every
 * Unicode edge in keys, absurd timestamps, wrong types, records with thousands of bad values, and
 * one example of every rejection reason. Seeded, so a failure can be replayed.
 */
final class HostileTelemetry {

  /** Keys at the edges of what PostgreSQL stores, as JSON escapes; some are valid, most not. */
  private static final List<String> EDGE_KEYS =
      List.of(
          "te\\u0000mp",
          "\\u0000",
          "lone\\ud800",
          "\\udc00low",
          "x\\udbff",
          "\\ud83c\\udf21".repeat(100), // 100 characters: valid
          "\\ud83c\\udf21".repeat(101),
          "k".repeat(100), // valid
          "k".repeat(101),
          "\\ufffe", // a non-character, but valid Unicode: stored
          "\\ufeffbom", // valid
          "\\u0001ctl", // valid
          "",
          "tab\\tkey", // valid
          "quote\\\"key"); // valid

  private static final List<String> BAD_TIMESTAMPS =
      List.of(
          "\\u0662\\u0660\\u0662\\u0666-03-01T11:00:00Z",
          "2026-03-01T11:00:00\\uff3a",
          "noon",
          "1999-12-31T23:59:59Z",
          "2999-01-01T00:00:00Z",
          "2026-13-45T99:99:99Z",
          "",
          "+999999999-01-01T00:00:00Z");

  private final Random random;
  private final String place;
  private final Instant base;
  private int sequence;

  HostileTelemetry(long seed, String place, Instant base) {
    this.random = new Random(seed);
    this.place = place;
    this.base = base;
  }

  /** A record of a random hostile kind, for {@code device}. */
  byte[] next(String device, byte[] goodRecord) {
    switch (random.nextInt(8)) {
      case 0:
        byte[] noise = new byte[random.nextInt(200)];
        random.nextBytes(noise);
        return noise;
      case 1:
        return mutate(goodRecord);
      case 2:
        String key = EDGE_KEYS.get(random.nextInt(EDGE_KEYS.size()));
        return envelope(
            device, "{\"ts\": \"" + time() + "\", \"values\": {\"" + key + "\": 1.5, \"ok\": 2}}");
      case 3:
        String ts = BAD_TIMESTAMPS.get(random.nextInt(BAD_TIMESTAMPS.size()));
        return envelope(device, "{\"ts\": \"" + ts + "\", \"values\": {\"t\": 1}}");
      case 4:
        return manyBadValues(device, 50 + random.nextInt(3000));
      case 5:
        return wrongShape(device);
      case 6:
        // The payload as a string that holds JSON, as EMQX may splice it, but damaged.
        return utf8(
            "{\"place_id\": \""
                + place
                + "\", \"device_id\": \""
                + device
                + "\", \"payload\": \"{\\\"values\\\": {\\\"t\\\": "
                + (random.nextBoolean() ? "NaN" : "1")
                + "}"
                + (random.nextBoolean() ? "" : "}")
                + "\"}");
      default:
        return envelope(
            device,
            "{\"values\": {\"t\": 1}, \"junk\": " + "[".repeat(2000) + "]".repeat(2000) + "}");
    }
  }

  /** One record for each rejection reason, plus the huge ones. */
  List<byte[]> everyReason(String device) {
    return List.of(
        utf8("this is not json"),
        utf8("[1, 2, 3]"),
        utf8("{\"device_id\": \"" + device + "\", \"payload\": {\"values\": {\"t\": 1}}}"),
        envelope(device, "42"),
        utf8(
            "{\"place_id\": \""
                + place
                + "\", \"device_id\": \"1-2-3-4-5\", \"payload\": {\"values\": {\"t\": 1}}}"),
        envelope(device, "{\"ts\": \"noon\", \"values\": {\"t\": 1}}"),
        envelope(device, "{\"ts\": \"1999-01-01T00:00:00Z\", \"values\": {\"t\": 1}}"),
        envelope(device, "{\"values\": {}}"),
        envelope(device, "{\"ts\": \"" + time() + "\", \"values\": {\"te\\u0000mp\": 1}}"),
        envelope(device, "{\"ts\": \"" + time() + "\", \"values\": {\"t\": \"warm\"}}"),
        new byte[0],
        manyValues(device, 20_000), // too-many-values
        manyValues(device, 90_000), // the record that took seconds to parse when quadratic
        manyBadValues(device, 9_000)); // one dead letter, not 9,000
  }

  /**
   * A record whose bytes exceed 1 MiB once decompressed (sent gzip-compressed, it fits a batch).
   */
  byte[] hugeRecord(String device) {
    StringBuilder values = new StringBuilder();
    while (values.length() < 1_600_000) {
      values
          .append(values.length() == 0 ? "" : ", ")
          .append("\"k")
          .append(values.length())
          .append("\": 1");
    }
    return envelope(device, "{\"values\": {" + values + "}}");
  }

  String time() {
    return base.plusMillis(sequence++).toString();
  }

  private byte[] manyValues(String device, int count) {
    StringBuilder values = new StringBuilder();
    for (int i = 0; i < count; i++) {
      values.append(i == 0 ? "" : ",").append("\"v").append(i).append("\":").append(i);
    }
    return envelope(device, "{\"ts\": \"" + time() + "\", \"values\": {" + values + "}}");
  }

  private byte[] manyBadValues(String device, int count) {
    StringBuilder values = new StringBuilder("\"fine\": 7");
    for (int i = 0; i < count; i++) {
      values.append(",\"b").append(i).append("\":").append(i % 2 == 0 ? "null" : "\"x\"");
    }
    return envelope(device, "{\"ts\": \"" + time() + "\", \"values\": {" + values + "}}");
  }

  private byte[] wrongShape(String device) {
    switch (random.nextInt(6)) {
      case 0:
        return envelope(device, "[]");
      case 1:
        return envelope(device, "{\"values\": [1, 2]}");
      case 2:
        return envelope(device, "{\"ts\": 12345, \"values\": {\"t\": 1}}");
      case 3:
        return utf8("{\"place_id\": 7, \"device_id\": \"" + device + "\", \"payload\": {}}");
      case 4:
        return utf8(
            "{\"place_id\": \""
                + place
                + "\", \"device_id\": \""
                + UUID.randomUUID()
                + "x\", \"payload\": {\"values\": {\"t\": 1}}}");
      default:
        return utf8("null");
    }
  }

  private byte[] mutate(byte[] bytes) {
    byte[] copy = bytes.clone();
    for (int i = 1 + random.nextInt(3); i > 0; i--) {
      copy[random.nextInt(copy.length)] = (byte) random.nextInt(256);
    }
    return copy;
  }

  byte[] envelope(String device, String payload) {
    return utf8(
        "{\"place_id\": \""
            + place
            + "\", \"device_id\": \""
            + device
            + "\", \"payload\": "
            + payload
            + "}");
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
