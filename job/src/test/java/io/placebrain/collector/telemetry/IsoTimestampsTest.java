package io.placebrain.collector.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IsoTimestampsTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2026-03-01T11:00:00Z",
        "2026-03-01T11:00:00.5Z",
        "2026-03-01T11:00:00.123456789Z",
        "2026-03-01T13:00:00+02:00",
        "2026-03-01T06:00:00.25-05:00",
        "2024-02-29T23:59:59+14:00",
      })
  void agreesWithJavaTimeOnOffsetTimestamps(String text) {
    assertThat(IsoTimestamps.parse(text)).isEqualTo(OffsetDateTime.parse(text).toInstant());
  }

  @ParameterizedTest
  @ValueSource(strings = {"2026-03-01T11:00:00", "2026-03-01 11:00:00", "2026-03-01T11:00:00.001"})
  void readsTimestampsWithoutOffsetAsUtc(String text) {
    assertThat(IsoTimestamps.parse(text))
        .isEqualTo(LocalDateTime.parse(text.replace(' ', 'T')).toInstant(ZoneOffset.UTC));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2026-03-01T11:00Z", // no seconds: the general parser handles it
        "2026-02-30T11:00:00Z",
        "2026-03-01T24:00:00Z",
        "2026-03-01T11:00:00.Z",
        "2026-03-01T11:00:00+0200",
        "2026-03-01T11:00:00.1234567890Z",
        "20260301T110000Z",
        "yesterday at noon",
      })
  void leavesEverythingElseToTheGeneralParser(String text) {
    assertThat(IsoTimestamps.parse(text)).isNull();
  }

  @Test
  void agreesWithJavaTimeOnRandomInstants() {
    Random random = new Random(42);
    for (int i = 0; i < 10_000; i++) {
      Instant instant =
          Instant.ofEpochSecond(
              946_684_800L + random.nextInt(1_000_000_000), random.nextInt(1_000_000) * 1000);
      ZoneOffset offset =
          ZoneOffset.ofTotalSeconds(
              (random.nextInt(27) - 12) * 3600 + (random.nextBoolean() ? 1800 : 0));
      String text = instant.atOffset(offset).toString();
      if (text.length() >= 20) { // java.time omits zero seconds: those go the general way
        assertThat(IsoTimestamps.parse(text)).as(text).isEqualTo(instant);
      }
    }
  }
}
