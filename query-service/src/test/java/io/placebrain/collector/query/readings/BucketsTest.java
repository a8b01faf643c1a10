package io.placebrain.collector.query.readings;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class BucketsTest {

  @Test
  void bucketsAlignToTheTimescaleOriginNotToTheEpoch() {
    // 7-day buckets start on Mondays (2000-01-03 was one), as time_bucket's do.
    Instant thursday = Instant.parse("2026-11-26T15:00:00Z");
    assertThat(Buckets.start(thursday, Duration.ofDays(7)))
        .isEqualTo(Instant.parse("2026-11-23T00:00:00Z"));
    // 1-hour buckets start on the hour.
    assertThat(Buckets.start(Instant.parse("2026-11-26T15:59:59.999999Z"), Duration.ofHours(1)))
        .isEqualTo(Instant.parse("2026-11-26T15:00:00Z"));
  }

  @Test
  void timesBeforeTheOriginFloorDownward() {
    assertThat(Buckets.start(Instant.parse("1999-12-31T23:30:00Z"), Duration.ofHours(1)))
        .isEqualTo(Instant.parse("1999-12-31T23:00:00Z"));
  }

  @Test
  void countCoversFromTheBucketHoldingFromToTheLastStartingBeforeTo() {
    Duration hour = Duration.ofHours(1);
    Instant from = Instant.parse("2026-11-26T10:30:00Z");
    assertThat(Buckets.count(from, Instant.parse("2026-11-26T11:00:00Z"), hour)).isEqualTo(1);
    assertThat(Buckets.count(from, Instant.parse("2026-11-26T11:00:00.000001Z"), hour))
        .isEqualTo(2);
    assertThat(Buckets.count(from, Instant.parse("2026-11-26T13:00:00Z"), hour)).isEqualTo(3);
    assertThat(Buckets.count(from, from.plusNanos(1000), Duration.ofDays(30))).isEqualTo(1);
  }

  @Test
  void thirtyDaysOfOneSecondBucketsAreCountedWithoutOverflow() {
    Instant to = Instant.parse("2026-11-26T00:00:00Z");
    assertThat(Buckets.count(to.minus(Duration.ofDays(30)), to, Duration.ofSeconds(1)))
        .isEqualTo(30L * 86_400);
  }
}
