package io.placebrain.collector.telemetry;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.deadletter.RejectReason;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Parses the telemetry wire format with a streaming JSON parser, one pass, no object mapping:
 *
 * <pre>{"place_id": "&lt;uuid&gt;", "device_id": "&lt;uuid&gt;", "payload": P}</pre>
 *
 * where {@code P} is {@code {"ts": <ISO-8601 or null>, "values": {"<key>": <number>, ...}}} or a
 * JSON string containing that object. Every valid value becomes a {@link Reading}; a record that
 * cannot be read at all is rejected once, and a readable record with some bad values keeps the good
 * ones and rejects the bad ones, each with its own reason, in one dead letter. Work is linear in
 * the record's size, and a record has at most {@link ParserSettings#maxValuesPerRecord()} values.
 * State is kept per call, so one parser serves a whole subtask.
 */
public final class TelemetryParser {

  // Python's json module writes NaN and Infinity as bare tokens; reading them as numbers lets the
  // parser reject just that value instead of the whole record. Field names are not canonicalized:
  // the shared symbol table is a hash table that hostile records full of long, distinct names
  // degrade (parse cost per byte of a 1 MiB record was 12 times that of a 1 KiB one).
  private static final JsonFactory JSON =
      JsonFactory.builder()
          .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
          .build();

  /** ISO-8601 date and time, 'T' or space between them, offset optional (then UTC). */
  private static final DateTimeFormatter TIMESTAMP =
      new DateTimeFormatterBuilder()
          .parseCaseInsensitive()
          .append(DateTimeFormatter.ISO_LOCAL_DATE)
          .optionalStart()
          .appendLiteral('T')
          .optionalEnd()
          .optionalStart()
          .appendLiteral(' ')
          .optionalEnd()
          .append(DateTimeFormatter.ISO_LOCAL_TIME)
          .optionalStart()
          .appendPattern("[XXX][XX][X]")
          .optionalEnd()
          .toFormatter();

  private static final Pattern NUMBER =
      Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?");

  private final ParserSettings settings;
  private final Clock clock;

  public TelemetryParser(ParserSettings settings) {
    this(settings, Clock.systemUTC());
  }

  public TelemetryParser(ParserSettings settings, Clock clock) {
    this.settings = settings;
    this.clock = clock;
  }

  /** Parses one record and reports every reading and rejection to {@code out}. */
  public void parse(KafkaRecord record, TelemetryOutput out) {
    try {
      parseChecked(record, out);
    } catch (Rejection rejection) {
      out.rejected(DeadLetter.of(record, rejection.reason, rejection.getMessage(), null));
    }
  }

  private void parseChecked(KafkaRecord record, TelemetryOutput out) throws Rejection {
    byte[] bytes = record.value;
    if (bytes == null || bytes.length == 0) {
      throw new Rejection(RejectReason.EMPTY_RECORD, "record has no value");
    }
    if (bytes.length > settings.maxRecordBytes()) {
      throw new Rejection(
          RejectReason.TOO_LARGE,
          "record of "
              + bytes.length
              + " bytes exceeds the limit of "
              + settings.maxRecordBytes()
              + " bytes");
    }
    int invalid = Utf8.firstInvalid(bytes);
    if (invalid >= 0) {
      throw new Rejection(
          RejectReason.NOT_JSON, "not valid JSON: invalid UTF-8 at byte " + invalid);
    }
    Envelope envelope = new Envelope();
    try (JsonParser parser = JSON.createParser(bytes)) {
      readEnvelope(parser, envelope);
      if (parser.nextToken() != null) {
        throw new Rejection(RejectReason.NOT_JSON, "unexpected content after the JSON object");
      }
    } catch (IOException e) {
      throw new Rejection(RejectReason.NOT_JSON, "not valid JSON: " + firstLine(e.getMessage()));
    } catch (RuntimeException e) {
      // The JSON reader may report a limit or a bug of its own unchecked: no record may fail the
      // job. Only reading is guarded; what the output throws below is the job's, not the record's.
      throw new Rejection(RejectReason.NOT_JSON, "unreadable: " + firstLine(e.toString()));
    }
    envelope.emit(record, out);
  }

  private void readEnvelope(JsonParser parser, Envelope envelope) throws IOException, Rejection {
    if (parser.nextToken() != JsonToken.START_OBJECT) {
      throw new Rejection(RejectReason.NOT_AN_OBJECT, "the record is not a JSON object");
    }
    boolean sawPayload = false;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken token = parser.nextToken();
      switch (field) {
        case "place_id":
          envelope.placeId = uuid(parser, token, "place_id");
          break;
        case "device_id":
          envelope.deviceId = uuid(parser, token, "device_id");
          break;
        case "payload":
          sawPayload = true;
          readPayloadField(parser, token, envelope);
          break;
        default:
          parser.skipChildren();
      }
    }
    if (envelope.placeId == null) {
      throw new Rejection(RejectReason.MISSING_FIELD, "place_id is missing");
    }
    if (envelope.deviceId == null) {
      throw new Rejection(RejectReason.MISSING_FIELD, "device_id is missing");
    }
    if (!sawPayload) {
      throw new Rejection(RejectReason.MISSING_FIELD, "payload is missing");
    }
  }

  private void readPayloadField(JsonParser parser, JsonToken token, Envelope envelope)
      throws IOException, Rejection {
    if (token == JsonToken.START_OBJECT) {
      readPayload(parser, envelope);
    } else if (token == JsonToken.VALUE_STRING) {
      // The bridge may splice the device's JSON in as a string: parse what it contains.
      try (JsonParser inner = JSON.createParser(parser.getText())) {
        if (inner.nextToken() != JsonToken.START_OBJECT) {
          throw new Rejection(
              RejectReason.WRONG_TYPE, "payload is a string that does not contain a JSON object");
        }
        readPayload(inner, envelope);
        if (inner.nextToken() != null) {
          throw new Rejection(
              RejectReason.NOT_JSON, "unexpected content after the payload object in its string");
        }
      } catch (IOException e) {
        throw new Rejection(
            RejectReason.NOT_JSON,
            "payload string is not valid JSON: " + firstLine(e.getMessage()));
      }
    } else {
      throw new Rejection(
          RejectReason.WRONG_TYPE,
          "payload must be an object or a string containing one, not " + describe(token));
    }
  }

  private void readPayload(JsonParser parser, Envelope envelope) throws IOException, Rejection {
    boolean sawValues = false;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken token = parser.nextToken();
      switch (field) {
        case "ts":
          envelope.explicitTime = timestamp(parser, token);
          break;
        case "values":
          sawValues = true;
          if (token != JsonToken.START_OBJECT) {
            throw new Rejection(
                RejectReason.WRONG_TYPE,
                "payload.values must be an object, not " + describe(token));
          }
          readValues(parser, envelope);
          break;
        default:
          parser.skipChildren();
      }
    }
    if (!sawValues) {
      throw new Rejection(RejectReason.MISSING_FIELD, "payload.values is missing");
    }
  }

  private void readValues(JsonParser parser, Envelope envelope) throws IOException, Rejection {
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      // Counted per record, not per object: "values" (or "payload") may appear more than once.
      if (++envelope.fields > settings.maxValuesPerRecord()) {
        // Stop here: the rest of the record is not even read, so its cost is bounded too.
        throw new Rejection(
            RejectReason.TOO_MANY_VALUES,
            "payload.values has more than " + settings.maxValuesPerRecord() + " values");
      }
      String key = parser.currentName();
      JsonToken token = parser.nextToken();
      String keyProblem = ReadingKeys.problem(key);
      if (keyProblem != null) {
        parser.skipChildren();
        envelope.reject(key, RejectReason.INVALID_KEY, keyProblem);
        continue;
      }
      switch (token) {
        case VALUE_NUMBER_INT:
        case VALUE_NUMBER_FLOAT:
          double number = parser.getDoubleValue();
          if (Double.isFinite(number)) {
            envelope.accept(key, number);
          } else {
            envelope.reject(
                key,
                RejectReason.INVALID_VALUE,
                "value of '" + key + "' is " + parser.getText() + ", not a finite number");
          }
          break;
        case VALUE_TRUE:
          envelope.accept(key, 1.0);
          break;
        case VALUE_FALSE:
          envelope.accept(key, 0.0);
          break;
        case VALUE_STRING:
          numericString(parser.getText(), key, envelope);
          break;
        default:
          parser.skipChildren();
          envelope.reject(
              key,
              RejectReason.INVALID_VALUE,
              "value of '" + key + "' is " + describe(token) + ", not a number");
      }
    }
  }

  private static void numericString(String text, String key, Envelope envelope) {
    if (!NUMBER.matcher(text).matches()) {
      envelope.reject(
          key,
          RejectReason.INVALID_VALUE,
          "value of '" + key + "' is the string \"" + abbreviate(text) + "\", not a number");
      return;
    }
    double number = Double.parseDouble(text);
    if (Double.isFinite(number)) {
      envelope.accept(key, number);
    } else {
      envelope.reject(
          key,
          RejectReason.INVALID_VALUE,
          "value of '" + key + "' (\"" + abbreviate(text) + "\") is out of range");
    }
  }

  private static UUID uuid(JsonParser parser, JsonToken token, String field)
      throws IOException, Rejection {
    if (token != JsonToken.VALUE_STRING) {
      parser.skipChildren();
      throw new Rejection(
          token == JsonToken.VALUE_NULL ? RejectReason.MISSING_FIELD : RejectReason.WRONG_TYPE,
          field + " must be a UUID string, not " + describe(token));
    }
    String text = parser.getText();
    // UUID.fromString accepts shortened groups such as "1-2-3-4-5" and any Unicode digit; require
    // the canonical form in ASCII.
    if (!CanonicalUuids.isCanonical(text)) {
      throw new Rejection(
          RejectReason.INVALID_UUID, field + " \"" + abbreviate(text) + "\" is not a UUID");
    }
    try {
      return UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      throw new Rejection(
          RejectReason.INVALID_UUID, field + " \"" + abbreviate(text) + "\" is not a UUID");
    }
  }

  private Instant timestamp(JsonParser parser, JsonToken token) throws IOException, Rejection {
    if (token == JsonToken.VALUE_NULL) {
      return null;
    }
    if (token != JsonToken.VALUE_STRING) {
      parser.skipChildren();
      throw new Rejection(
          RejectReason.WRONG_TYPE,
          "payload.ts must be an ISO-8601 string or null, not " + describe(token));
    }
    String text = parser.getText();
    for (int i = 0; i < text.length(); i++) {
      // java.time reads any Unicode digit as a digit; the wire format is ASCII.
      if (text.charAt(i) > 0x7e) {
        throw new Rejection(
            RejectReason.INVALID_TIMESTAMP,
            "payload.ts \"" + abbreviate(text) + "\" has characters outside ASCII");
      }
    }
    Instant fast = IsoTimestamps.parse(text);
    if (fast != null) {
      return fast;
    }
    Instant time;
    try {
      TemporalAccessor parsed = TIMESTAMP.parse(text);
      LocalDateTime local = LocalDateTime.from(parsed);
      ZoneOffset offset =
          parsed.isSupported(ChronoField.OFFSET_SECONDS)
              ? ZoneOffset.ofTotalSeconds(parsed.get(ChronoField.OFFSET_SECONDS))
              : ZoneOffset.UTC;
      time = local.toInstant(offset);
    } catch (DateTimeParseException e) {
      throw new Rejection(
          RejectReason.INVALID_TIMESTAMP,
          "payload.ts \"" + abbreviate(text) + "\" is not an ISO-8601 date and time");
    }
    return time;
  }

  private void checkRange(Instant time, String origin) throws Rejection {
    if (time.isBefore(settings.earliest())) {
      throw new Rejection(
          RejectReason.TIMESTAMP_OUT_OF_RANGE,
          origin + " " + time + " is before the earliest accepted time " + settings.earliest());
    }
    Instant now = clock.instant();
    if (settings.maxAge() != null && time.isBefore(now.minus(settings.maxAge()))) {
      throw new Rejection(
          RejectReason.TIMESTAMP_OUT_OF_RANGE,
          origin + " " + time + " is older than the retention period of " + settings.maxAge());
    }
    Instant latest = now.plus(settings.maxAhead());
    if (time.isAfter(latest)) {
      throw new Rejection(
          RejectReason.TIMESTAMP_OUT_OF_RANGE,
          origin + " " + time + " is more than " + settings.maxAhead() + " in the future");
    }
  }

  private static String describe(JsonToken token) {
    if (token == null) {
      return "nothing";
    }
    switch (token) {
      case START_OBJECT:
        return "an object";
      case START_ARRAY:
        return "an array";
      case VALUE_STRING:
        return "a string";
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return "a number";
      case VALUE_TRUE:
      case VALUE_FALSE:
        return "a boolean";
      case VALUE_NULL:
        return "null";
      default:
        return token.toString();
    }
  }

  private static String abbreviate(String text) {
    return ReadingKeys.printable(text);
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  /** The fields of one record, gathered while parsing, emitted once the whole record is read. */
  private final class Envelope {
    /** Up to this many keys a linear scan finds duplicates faster than a hash map. */
    private static final int SCAN_LIMIT = 16;

    UUID placeId;
    UUID deviceId;
    Instant explicitTime;
    int fields;
    int count;
    String[] keys = new String[8];
    double[] values = new double[8];
    Map<String, Integer> indexByKey;
    int rejectedCount;
    String[] rejectedKeys = new String[DeadLetter.MAX_LISTED];
    RejectReason[] rejectedReasons = new RejectReason[DeadLetter.MAX_LISTED];
    String[] rejectedDetails = new String[DeadLetter.MAX_LISTED];

    void accept(String key, double value) {
      // One reading per key: a key repeated in the same object keeps its last value.
      int existing = indexOf(key);
      if (existing >= 0) {
        values[existing] = value;
        return;
      }
      if (count == keys.length) {
        keys = Arrays.copyOf(keys, count * 2);
        values = Arrays.copyOf(values, count * 2);
      }
      keys[count] = key;
      values[count] = value;
      if (indexByKey != null) {
        indexByKey.put(key, count);
      } else if (count == SCAN_LIMIT) {
        indexByKey = new HashMap<>(4 * SCAN_LIMIT);
        for (int i = 0; i <= count; i++) {
          indexByKey.put(keys[i], i);
        }
      }
      count++;
    }

    private int indexOf(String key) {
      if (indexByKey != null) {
        Integer index = indexByKey.get(key);
        return index == null ? -1 : index;
      }
      for (int i = 0; i < count; i++) {
        if (keys[i].equals(key)) {
          return i;
        }
      }
      return -1;
    }

    /** Keeps the first {@link DeadLetter#MAX_LISTED} rejections and counts all of them. */
    void reject(String key, RejectReason reason, String detail) {
      if (rejectedCount < DeadLetter.MAX_LISTED) {
        rejectedKeys[rejectedCount] = key;
        rejectedReasons[rejectedCount] = reason;
        rejectedDetails[rejectedCount] = detail;
      }
      rejectedCount++;
    }

    void emit(KafkaRecord record, TelemetryOutput out) throws Rejection {
      if (count == 0 && rejectedCount == 0) {
        throw new Rejection(RejectReason.NO_VALUES, "payload.values is empty");
      }
      Instant time;
      if (explicitTime != null) {
        time = explicitTime;
        checkRange(time, "payload.ts");
      } else {
        time = Instant.ofEpochMilli(record.timestamp);
        checkRange(time, "the record timestamp (payload.ts is absent)");
      }
      long micros =
          Math.addExact(
              Math.multiplyExact(time.getEpochSecond(), 1_000_000L), time.getNano() / 1000);
      for (int i = 0; i < count; i++) {
        out.reading(new Reading(micros, deviceId, placeId, keys[i], values[i]));
      }
      if (rejectedCount > 0) {
        out.rejected(
            DeadLetter.ofValues(
                record,
                rejectedKeys,
                rejectedReasons,
                rejectedDetails,
                Math.min(rejectedCount, DeadLetter.MAX_LISTED),
                rejectedCount));
      }
    }
  }

  /** A record, or part of one, that cannot be accepted. Carries no stack trace: it is not a bug. */
  private static final class Rejection extends Exception {
    final RejectReason reason;

    Rejection(RejectReason reason, String message) {
      super(message, null, false, false);
      this.reason = reason;
    }
  }
}
