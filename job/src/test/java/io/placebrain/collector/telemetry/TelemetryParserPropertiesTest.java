package io.placebrain.collector.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.deadletter.RejectReason;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * Properties of the telemetry parser over generated input: whatever the bytes, it answers with
 * readings and at most one dead letter, never throws, never drops a record silently, and what it
 * accepts is exactly what the database can store and read back.
 */
class TelemetryParserPropertiesTest {

  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final String PLACE = "6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e";
  private static final String DEVICE = "0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
  private static final int MAX_VALUES = 50;

  private final TelemetryParser parser =
      new TelemetryParser(
          new ParserSettings(
              ParserSettings.DEFAULTS.earliest(),
              ParserSettings.DEFAULTS.maxAhead(),
              1 << 16,
              null,
              MAX_VALUES),
          Clock.fixed(NOW, ZoneOffset.UTC));

  @Property(tries = 2000)
  void anyBytesGiveReadingsOrOneDeadLetterAndNeverThrow(@ForAll @Size(max = 400) byte[] bytes) {
    checkInvariants(bytes, parse(bytes));
  }

  @Property(tries = 2000)
  void mutatedRecordsGiveReadingsOrOneDeadLetterAndNeverThrow(
      @ForAll("records") Map<String, Double> values, @ForAll("mutations") List<int[]> mutations) {
    byte[] bytes = json(values).getBytes(StandardCharsets.UTF_8);
    for (int[] mutation : mutations) {
      bytes = mutate(bytes, mutation);
    }
    checkInvariants(bytes, parse(bytes));
  }

  @Property(tries = 1000)
  void acceptedValuesRoundTripAndEveryOtherValueIsListed(
      @ForAll("records") Map<String, Double> values) {
    Result result = parse(json(values).getBytes(StandardCharsets.UTF_8));

    Map<String, Double> storable = new LinkedHashMap<>();
    List<String> refused = new ArrayList<>();
    values.forEach(
        (key, value) -> {
          if (ReadingKeys.problem(key) == null) {
            storable.put(key, value);
          } else {
            refused.add(key);
          }
        });
    Map<String, Double> stored = new LinkedHashMap<>();
    for (Reading reading : result.readings) {
      assertStorable(reading.key);
      // What COPY sends is the key's UTF-8: it must decode to the very same key.
      byte[] utf8 = reading.key.getBytes(StandardCharsets.UTF_8);
      assertThat(new String(utf8, StandardCharsets.UTF_8)).isEqualTo(reading.key);
      stored.put(reading.key, reading.value);
    }
    assertThat(stored).isEqualTo(storable);
    if (refused.isEmpty()) {
      assertThat(result.rejected).isEmpty();
    } else {
      DeadLetter letter = result.rejected.get(0);
      assertThat(letter.rejectedValues).isEqualTo(refused.size());
      assertThat(letter.rejectedKeys)
          .containsExactlyElementsOf(refused.subList(0, Math.min(refused.size(), 20)));
      assertThat(letter.rejectedReasons).containsOnly(RejectReason.INVALID_KEY.code());
    }
  }

  @Provide
  Arbitrary<Map<String, Double>> records() {
    // Keys from every corner of UTF-16: ASCII, NUL and controls, lone and paired surrogates,
    // non-characters, and long runs around the 100-character limit.
    Arbitrary<String> keys =
        Arbitraries.oneOf(
            Arbitraries.strings().alpha().numeric().ofMinLength(1).ofMaxLength(12),
            Arbitraries.strings().all().ofMinLength(0).ofMaxLength(8),
            Arbitraries.strings().withCharRange('\uD800', '\uDFFF').ofMinLength(1).ofMaxLength(3),
            Arbitraries.strings().withChars('\u0000', 'a', '\uFFFE', '\uFEFF').ofMaxLength(4),
            Arbitraries.integers().between(98, 102).map("\uD83C\uDF21"::repeat),
            Arbitraries.strings().withChars('k').ofMinLength(99).ofMaxLength(101));
    Arbitrary<Double> numbers =
        Arbitraries.oneOf(
            Arbitraries.doubles(),
            Arbitraries.of(
                0.0, -0.0, Double.MIN_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE, 1e-300));
    return Arbitraries.maps(keys, numbers).ofMinSize(1).ofMaxSize(MAX_VALUES);
  }

  @Provide
  Arbitrary<List<int[]>> mutations() {
    Arbitrary<int[]> one =
        Combinators.combine(
                Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 10_000),
                Arbitraries.integers().between(0, 255))
            .as((kind, position, value) -> new int[] {kind, position, value});
    return one.list().ofMinSize(1).ofMaxSize(4);
  }

  private void checkInvariants(byte[] bytes, Result result) {
    assertThat(result.rejected).hasSizeLessThanOrEqualTo(1);
    // Nothing is dropped silently: a record yields readings, or a dead letter, or both.
    assertThat(result.readings.size() + result.rejected.size()).isPositive();
    assertThat(result.readings).hasSizeLessThanOrEqualTo(MAX_VALUES);
    for (Reading reading : result.readings) {
      assertStorable(reading.key);
      assertThat(Double.isFinite(reading.value)).isTrue();
    }
    for (DeadLetter letter : result.rejected) {
      assertThat(letter.reason).isIn(codes());
      assertThat(letter.detail).isNotBlank();
      assertThat(letter.value).as("the original bytes, as they came").isSameAs(bytes);
      if (letter.rejectedValues > 0) {
        assertThat(result.readings.size() + letter.rejectedValues).isLessThanOrEqualTo(MAX_VALUES);
        assertThat(letter.rejectedKeys).hasSize(Math.min(letter.rejectedValues, 20));
      }
    }
  }

  /** What PostgreSQL accepts as a key, checked without the parser's own rule. */
  private static void assertStorable(String key) {
    assertThat(key).isNotEmpty().doesNotContain("\u0000");
    assertThat(key.codePointCount(0, key.length())).isLessThanOrEqualTo(100);
    assertThat(new String(key.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8))
        .isEqualTo(key);
  }

  private static Set<String> codes() {
    return Arrays.stream(RejectReason.values()).map(RejectReason::code).collect(Collectors.toSet());
  }

  private static byte[] mutate(byte[] bytes, int[] mutation) {
    int at = bytes.length == 0 ? 0 : mutation[1] % (bytes.length + 1);
    switch (mutation[0]) {
      case 0: // replace a byte
        if (at < bytes.length) {
          byte[] copy = bytes.clone();
          copy[at] = (byte) mutation[2];
          return copy;
        }
        return bytes;
      case 1: // insert a byte
        byte[] longer = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, longer, 0, at);
        longer[at] = (byte) mutation[2];
        System.arraycopy(bytes, at, longer, at + 1, bytes.length - at);
        return longer;
      default: // delete a byte
        if (at >= bytes.length) {
          return bytes;
        }
        byte[] shorter = new byte[bytes.length - 1];
        System.arraycopy(bytes, 0, shorter, 0, at);
        System.arraycopy(bytes, at + 1, shorter, at, bytes.length - at - 1);
        return shorter;
    }
  }

  /** The record as a device would send it, keys escaped as JSON requires. */
  private static String json(Map<String, Double> values) {
    StringBuilder out = new StringBuilder();
    out.append("{\"place_id\": \"")
        .append(PLACE)
        .append("\", \"device_id\": \"")
        .append(DEVICE)
        .append("\", \"payload\": {\"ts\": \"2026-03-01T11:00:00Z\", \"values\": {");
    boolean first = true;
    for (Map.Entry<String, Double> entry : values.entrySet()) {
      out.append(first ? "" : ", ").append('"');
      for (char c : entry.getKey().toCharArray()) {
        if (c == '"' || c == '\\' || c < 0x20 || Character.isSurrogate(c)) {
          out.append(String.format("\\u%04x", (int) c));
        } else {
          out.append(c);
        }
      }
      out.append("\": ").append(Double.toString(entry.getValue()));
      first = false;
    }
    return out.append("}}}").toString();
  }

  private Result parse(byte[] bytes) {
    Result result = new Result();
    parser.parse(
        new KafkaRecord("telemetry.readings", 0, 1, NOW.toEpochMilli(), null, bytes),
        new TelemetryOutput() {
          @Override
          public void reading(Reading reading) {
            result.readings.add(reading);
          }

          @Override
          public void rejected(DeadLetter deadLetter) {
            result.rejected.add(deadLetter);
          }
        });
    return result;
  }

  /** What the parser said about one record. */
  private static final class Result {
    final List<Reading> readings = new ArrayList<>();
    final List<DeadLetter> rejected = new ArrayList<>();
  }
}
