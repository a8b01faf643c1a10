package io.placebrain.collector.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.deadletter.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TelemetryParserTest {

  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final String PLACE = "6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e";
  private static final String DEVICE = "0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
  private static final long RECORD_TIME = NOW.minusSeconds(30).toEpochMilli();

  private final TelemetryParser parser =
      new TelemetryParser(ParserSettings.DEFAULTS, Clock.fixed(NOW, ZoneOffset.UTC));

  private final List<Reading> readings = new ArrayList<>();
  private final List<DeadLetter> rejected = new ArrayList<>();

  @Test
  void parsesPayloadObjectWithOneReadingPerKey() {
    parse(
        envelope("{\"ts\": \"2026-03-01T11:59:00Z\", \"values\": {\"temp\": 21.5, \"hum\": 40}}"));

    assertThat(rejected).isEmpty();
    assertThat(readings)
        .containsExactly(
            reading("2026-03-01T11:59:00Z", "temp", 21.5),
            reading("2026-03-01T11:59:00Z", "hum", 40));
  }

  @Test
  void parsesPayloadGivenAsAStringContainingTheObject() {
    parse(envelope("\"{\\\"ts\\\": null, \\\"values\\\": {\\\"co2\\\": 612}}\""));

    assertThat(rejected).isEmpty();
    assertThat(readings).containsExactly(reading(Instant.ofEpochMilli(RECORD_TIME), "co2", 612));
  }

  @Test
  void absentOrNullTimestampMeansTheRecordTimestamp() {
    parse(envelope("{\"values\": {\"a\": 1}}"));
    parse(envelope("{\"ts\": null, \"values\": {\"b\": 2}}"));

    assertThat(readings)
        .containsExactly(
            reading(Instant.ofEpochMilli(RECORD_TIME), "a", 1),
            reading(Instant.ofEpochMilli(RECORD_TIME), "b", 2));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "2026-03-01T11:00:00Z        | 2026-03-01T11:00:00Z",
        "2026-03-01T11:00:00         | 2026-03-01T11:00:00Z",
        "2026-03-01 11:00:00         | 2026-03-01T11:00:00Z",
        "2026-03-01T13:00:00+02:00   | 2026-03-01T11:00:00Z",
        "2026-03-01T06:00:00-0500    | 2026-03-01T11:00:00Z",
        "2026-03-01T11:00:00.123456Z | 2026-03-01T11:00:00.123456Z",
        "2026-03-01T11:00:00.1234567Z | 2026-03-01T11:00:00.123456Z",
        "2026-03-01T11:00Z           | 2026-03-01T11:00:00Z",
      })
  void acceptsIso8601WithAndWithoutOffset(String ts, String expected) {
    parse(envelope("{\"ts\": \"" + ts + "\", \"values\": {\"t\": 1}}"));

    assertThat(rejected).isEmpty();
    assertThat(readings).extracting(Reading::time).containsExactly(Instant.parse(expected));
  }

  @Test
  void acceptsNumbersNumericStringsAndBooleans() {
    parse(
        envelope(
            "{\"values\": {\"int\": 3, \"neg\": -2.5, \"exp\": 1e3, \"str\": \"42.5\","
                + " \"strexp\": \"-1.5E2\", \"on\": true, \"off\": false}}"));

    assertThat(rejected).isEmpty();
    assertThat(readings)
        .extracting(r -> r.key + "=" + r.value)
        .containsExactly(
            "int=3.0", "neg=-2.5", "exp=1000.0", "str=42.5", "strexp=-150.0", "on=1.0", "off=0.0");
  }

  @Test
  void unknownFieldsAreIgnored() {
    parse(
        ("{\"extra\": {\"nested\": [1, 2]}, \"place_id\": \""
                + PLACE
                + "\", \"device_id\": \""
                + DEVICE
                + "\", \"payload\": {\"fw\": \"1.2\", \"values\": {\"t\": 1}}, \"more\": null}")
            .getBytes(StandardCharsets.UTF_8));

    assertThat(rejected).isEmpty();
    assertThat(readings).hasSize(1);
  }

  @Test
  void repeatedKeyKeepsItsLastValue() {
    parse(envelope("{\"values\": {\"t\": 1, \"t\": 2}}"));

    assertThat(readings).extracting(r -> r.value).containsExactly(2.0);
  }

  @Test
  void keepsGoodValuesAndRejectsEveryBadOneInOneDeadLetter() {
    parse(
        envelope(
            "{\"values\": {\"good\": 1, \"nan\": NaN, \"inf\": Infinity, \"null\": null,"
                + " \"word\": \"warm\", \"obj\": {\"x\": 1}, \"arr\": [1], \"\": 5, \"also\": 2}}"));

    assertThat(readings).extracting(r -> r.key).containsExactly("good", "also");
    DeadLetter letter = onlyDeadLetter();
    assertThat(letter.rejectedValues).isEqualTo(7);
    assertThat(letter.reason).isEqualTo("invalid-value");
    assertThat(letter.readingKey).isEqualTo("nan");
    assertThat(letter.rejectedKeys).containsExactly("nan", "inf", "null", "word", "obj", "arr", "");
    assertThat(letter.rejectedReasons)
        .containsExactly(
            "invalid-value",
            "invalid-value",
            "invalid-value",
            "invalid-value",
            "invalid-value",
            "invalid-value",
            "invalid-key");
    assertThat(letter.detail).startsWith("7 values rejected: ").contains("'word'");
    assertThat(letter.value).isNotEmpty();
  }

  @Test
  void manyBadValuesStillMakeOneDeadLetterListingTheFirstAndCountingAll() {
    StringBuilder values = new StringBuilder("{\"values\": {\"ok\": 1");
    for (int i = 0; i < 5000; i++) {
      values.append(", \"bad").append(i).append("\": null");
    }
    parse(envelope(values.append("}}").toString()));

    assertThat(readings).extracting(r -> r.key).containsExactly("ok");
    DeadLetter letter = onlyDeadLetter();
    assertThat(letter.rejectedValues).isEqualTo(5000);
    assertThat(letter.rejectedKeys).hasSize(DeadLetter.MAX_LISTED).startsWith("bad0", "bad1");
    assertThat(letter.detail).endsWith("and " + (5000 - DeadLetter.MAX_LISTED) + " more");
  }

  @Test
  void rejectsKeysLongerThanAHundredCharactersCountedAsPostgresCountsThem() {
    String longKey = "k".repeat(101);
    String emoji = "\uD83C\uDF21"; // one character, two UTF-16 units
    parse(
        envelope(
            "{\"values\": {\""
                + longKey
                + "\": 1, \""
                + "k".repeat(100)
                + "\": 2, \""
                + emoji.repeat(100)
                + "\": 3, \""
                + emoji.repeat(101)
                + "\": 4}}"));

    assertThat(readings).extracting(r -> r.value).containsExactly(2.0, 3.0);
    DeadLetter letter = onlyDeadLetter();
    assertThat(letter.rejectedReasons).containsExactly("invalid-key", "invalid-key");
    assertThat(letter.rejectedDetails[0]).contains("101 characters");
    assertThat(letter.rejectedDetails[1]).contains("101 characters");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "te\\u0000mp", // NUL, refused by PostgreSQL inside COPY
        "te\\ud800mp", // lone high surrogate
        "te\\udc00mp", // lone low surrogate
        "\\ud800", // lone surrogate alone
        "x\\udbff", // high surrogate at the end
      })
  void rejectsKeysThatAreNotValidUnicodeOrContainNul(String escapedKey) {
    parse(envelope("{\"values\": {\"" + escapedKey + "\": 1.5, \"temp\": 2}}"));

    assertThat(readings).extracting(r -> r.key).containsExactly("temp");
    DeadLetter letter = onlyDeadLetter();
    assertThat(letter.reason).isEqualTo("invalid-key");
    assertThat(letter.detail).containsAnyOf("NUL", "surrogate");
    // What a person reads must itself be printable text.
    assertThat(letter.detail).doesNotContain("\u0000");
  }

  @Test
  void rejectsSurrogatesEncodedAsRawUtf8Bytes() {
    // CESU-style bytes for U+D800, which Java would otherwise write back as '?'.
    byte[] value = envelope("{\"values\": {\"tXXX\": 1, \"ok\": 2}}");
    int at = new String(value, StandardCharsets.ISO_8859_1).indexOf("XXX");
    value[at] = (byte) 0xED;
    value[at + 1] = (byte) 0xA0;
    value[at + 2] = (byte) 0x80;
    parse(value);

    // JSON is UTF-8: bytes that are not are not JSON, rather than a key decoded into U+FFFD.
    assertThat(readings).isEmpty();
    assertThat(onlyDeadLetter().reason).isEqualTo("not-json");
    assertThat(onlyDeadLetter().detail).contains("invalid UTF-8");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "\u0662\u0660\u0662\u0666-03-01T11:00:00Z", // Arabic-Indic digits
        "2026-03-01T11:00:00\uFF3A", // fullwidth Z
        "\uFF12026-03-01T11:00:00Z", // fullwidth digit
      })
  void rejectsTimestampsWithCharactersOutsideAscii(String ts) {
    parse(envelope("{\"ts\": \"" + ts + "\", \"values\": {\"t\": 1}}"));

    assertThat(readings).isEmpty();
    assertThat(onlyDeadLetter().reason).isEqualTo("invalid-timestamp");
  }

  @Test
  void rejectsARecordWithMoreValuesThanTheCapWhole() {
    TelemetryParser capped =
        new TelemetryParser(
            new ParserSettings(
                ParserSettings.DEFAULTS.earliest(), Duration.ofDays(1), 1 << 20, null, 3),
            Clock.fixed(NOW, ZoneOffset.UTC));
    capped.parse(record(envelope("{\"values\": {\"a\": 1, \"b\": 2, \"c\": 3}}")), output());
    capped.parse(
        record(envelope("{\"values\": {\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4}}")), output());

    assertThat(readings).hasSize(3);
    DeadLetter letter = onlyDeadLetter();
    assertThat(letter.reason).isEqualTo("too-many-values");
    assertThat(letter.rejectedValues).isZero();
  }

  @Test
  void theCapCountsEveryValuesObjectOfTheRecord() {
    TelemetryParser capped =
        new TelemetryParser(
            new ParserSettings(
                ParserSettings.DEFAULTS.earliest(), Duration.ofDays(1), 1 << 20, null, 2),
            Clock.fixed(NOW, ZoneOffset.UTC));
    capped.parse(
        record(envelope("{\"values\": {\"a\": 1, \"b\": 2}, \"values\": {\"c\": 3, \"d\": 4}}")),
        output());

    assertThat(readings).isEmpty();
    assertThat(onlyDeadLetter().reason).isEqualTo("too-many-values");
  }

  @Test
  void rejectsUuidsWithDigitsOutsideAscii() {
    // UUID.fromString would read U+0661 (Arabic-Indic one) as 1: another device's id.
    String device = DEVICE.substring(0, 35) + "\u0661";
    parse(
        ("{\"place_id\": \""
                + PLACE
                + "\", \"device_id\": \""
                + device
                + "\", \"payload\": {\"values\": {\"t\": 1}}}")
            .getBytes(StandardCharsets.UTF_8));

    assertThat(readings).isEmpty();
    assertThat(onlyDeadLetter().reason).isEqualTo("invalid-uuid");
  }

  @Test
  void findsRepeatedKeysAmongManyKeys() {
    StringBuilder values = new StringBuilder("{\"values\": {");
    for (int i = 0; i < 1000; i++) {
      values.append(i == 0 ? "" : ", ").append("\"k").append(i).append("\": ").append(i);
    }
    values.append(", \"k3\": -3, \"k999\": -999}}");
    parse(envelope(values.toString()));

    assertThat(readings).hasSize(1000);
    assertThat(readings.get(3).value).isEqualTo(-3);
    assertThat(readings.get(999).value).isEqualTo(-999);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "\"NaN\"",
        "\"Infinity\"",
        "\"1e999\"",
        "1e999",
        "\"0x10\"",
        "\"1.5d\"",
        "\" 1\"",
        "\"\""
      })
  void rejectsNonFiniteAndNonNumericValues(String value) {
    parse(envelope("{\"values\": {\"v\": " + value + "}}"));

    assertThat(readings).isEmpty();
    assertThat(rejected).extracting(d -> d.reason).containsExactly("invalid-value");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "not json at all                                      | not-json",
        "{\"place_id\": \"" + PLACE + "\", \"device_id\"        | not-json",
        "[1, 2, 3]                                            | not-an-object",
        "\"just a string\"                                    | not-an-object",
        "{}                                                   | missing-field",
        "{\"device_id\": \""
            + DEVICE
            + "\", \"payload\": {\"values\": {\"t\": 1}}} | missing-field",
        "{\"place_id\": \""
            + PLACE
            + "\", \"payload\": {\"values\": {\"t\": 1}}}   | missing-field",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\"}        | missing-field",
        "{\"place_id\": 5, \"device_id\": \"" + DEVICE + "\", \"payload\": {}}        | wrong-type",
        "{\"place_id\": \"nope\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": {}} | invalid-uuid",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \"1-2-3-4-5\", \"payload\": {}} | invalid-uuid",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": 7} | wrong-type",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": \"oops\"} | not-json",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": \"[1]\"} | wrong-type",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": {}} | missing-field",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": {\"values\": []}} | wrong-type",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": {\"values\": {}}} | no-values",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": {\"ts\": 12, \"values\": {\"t\": 1}}} | wrong-type",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": {\"ts\": \"yesterday\", \"values\": {\"t\": 1}}} | invalid-timestamp",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": {\"ts\": \"1999-12-31T23:59:59Z\", \"values\": {\"t\": 1}}} | timestamp-out-of-range",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": {\"ts\": \"2026-03-02T12:00:01Z\", \"values\": {\"t\": 1}}} | timestamp-out-of-range",
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": {\"values\": {\"t\": 1}}} trailing | not-json",
      })
  void rejectsWholeRecordsWithTheirReason(String json, String reason) {
    parse(json.getBytes(StandardCharsets.UTF_8));

    assertThat(readings).isEmpty();
    assertThat(rejected)
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.reason).isEqualTo(reason);
              assertThat(d.readingKey).isNull();
              assertThat(d.detail).isNotBlank();
              assertThat(new String(d.value, StandardCharsets.UTF_8)).isEqualTo(json);
              assertThat(d.sourceTopic).isEqualTo("telemetry.readings");
              assertThat(d.sourcePartition).isEqualTo(3);
              assertThat(d.sourceOffset).isEqualTo(77);
            });
  }

  @Test
  void timestampJustInsideTheBoundsIsAccepted() {
    parse(envelope("{\"ts\": \"2000-01-01T00:00:00Z\", \"values\": {\"t\": 1}}"));
    parse(envelope("{\"ts\": \"2026-03-02T12:00:00Z\", \"values\": {\"t\": 1}}"));

    assertThat(rejected).isEmpty();
    assertThat(readings).hasSize(2);
  }

  @Test
  void absurdRecordTimestampIsRejectedWhenTsIsAbsent() {
    parse(
        new KafkaRecord(
            "telemetry.readings", 0, 1, 0L, null, envelope("{\"values\": {\"t\": 1}}")));

    assertThat(readings).isEmpty();
    assertThat(rejected).extracting(d -> d.reason).containsExactly("timestamp-out-of-range");
  }

  @Test
  void boundsAreConfigurable() {
    TelemetryParser strict =
        new TelemetryParser(
            new ParserSettings(NOW.minus(Duration.ofDays(1)), Duration.ZERO, 1 << 20, null),
            Clock.fixed(NOW, ZoneOffset.UTC));
    strict.parse(
        record(envelope("{\"ts\": \"2026-02-27T00:00:00Z\", \"values\": {\"t\": 1}}")), output());
    strict.parse(
        record(envelope("{\"ts\": \"2026-03-01T12:00:01Z\", \"values\": {\"t\": 1}}")), output());

    assertThat(readings).isEmpty();
    assertThat(rejected)
        .extracting(d -> d.reason)
        .containsOnly("timestamp-out-of-range")
        .hasSize(2);
  }

  @Test
  void readingsOlderThanTheRetentionAreRejected() {
    TelemetryParser retained =
        new TelemetryParser(
            new ParserSettings(
                ParserSettings.DEFAULTS.earliest(),
                Duration.ofDays(1),
                1 << 20,
                Duration.ofDays(90)),
            Clock.fixed(NOW, ZoneOffset.UTC));
    retained.parse(
        record(envelope("{\"ts\": \"2025-12-01T00:00:00Z\", \"values\": {\"t\": 1}}")), output());
    retained.parse(
        record(envelope("{\"ts\": \"2025-12-02T12:00:01Z\", \"values\": {\"t\": 2}}")), output());

    assertThat(readings).extracting(r -> r.value).containsExactly(2.0);
    assertThat(rejected)
        .singleElement()
        .satisfies(d -> assertThat(d.detail).contains("older than the retention period"));
  }

  @Test
  void rejectsOversizedAndEmptyRecordsWithoutParsing() {
    TelemetryParser small =
        new TelemetryParser(
            new ParserSettings(ParserSettings.DEFAULTS.earliest(), Duration.ofDays(1), 64, null),
            Clock.fixed(NOW, ZoneOffset.UTC));
    small.parse(record(envelope("{\"values\": {\"t\": 1}}")), output());
    parse(new byte[0]);
    parse((byte[]) null);

    assertThat(readings).isEmpty();
    assertThat(rejected)
        .extracting(d -> d.reason)
        .containsExactly("too-large", "empty-record", "empty-record");
  }

  @Test
  void rejectsDeeplyNestedJson() {
    String deep = "[".repeat(5000) + "]".repeat(5000);
    parse(envelope("{\"values\": {\"t\": 1}, \"junk\": " + deep + "}"));

    assertThat(readings).isEmpty();
    assertThat(rejected).extracting(d -> d.reason).containsExactly("not-json");
  }

  private DeadLetter onlyDeadLetter() {
    assertThat(rejected).hasSize(1);
    return rejected.get(0);
  }

  private static byte[] envelope(String payload) {
    return ("{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"payload\": "
            + payload
            + "}")
        .getBytes(StandardCharsets.UTF_8);
  }

  private static KafkaRecord record(byte[] value) {
    return new KafkaRecord(
        "telemetry.readings", 3, 77, RECORD_TIME, DEVICE.getBytes(StandardCharsets.UTF_8), value);
  }

  private void parse(byte[] value) {
    parse(record(value));
  }

  private void parse(KafkaRecord record) {
    parser.parse(record, output());
  }

  private TelemetryOutput output() {
    return new TelemetryOutput() {
      @Override
      public void reading(Reading reading) {
        readings.add(reading);
      }

      @Override
      public void rejected(DeadLetter deadLetter) {
        rejected.add(deadLetter);
      }
    };
  }

  private static Reading reading(String time, String key, double value) {
    return reading(Instant.parse(time), key, value);
  }

  private static Reading reading(Instant time, String key, double value) {
    long micros = time.getEpochSecond() * 1_000_000L + time.getNano() / 1000;
    return new Reading(micros, UUID.fromString(DEVICE), UUID.fromString(PLACE), key, value);
  }
}
