package io.placebrain.collector.query.readings;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link Buckets} against an independent computation in {@link BigInteger} microseconds, over
 * instants far beyond any accepted request (years -100,000 to 100,000) and widths from one second
 * to 68 years (every positive {@code interval_seconds}).
 */
class BucketsPropertyTest {

  private static final long SPAN_SECONDS = 3_155_760_000_000L; // 100,000 years
  private static final BigInteger MICROS = BigInteger.valueOf(1_000_000);

  @Provide
  Arbitrary<Instant> instants() {
    Arbitrary<Instant> anywhere =
        Arbitraries.longs()
            .between(-SPAN_SECONDS, SPAN_SECONDS)
            .flatMap(
                seconds ->
                    Arbitraries.integers()
                        .between(0, 999_999)
                        .map(micros -> Instant.ofEpochSecond(seconds, micros * 1000L)));
    Arbitrary<Instant> nearOrigin =
        Arbitraries.longs()
            .between(-20_000_000_000L, 20_000_000_000L)
            .map(seconds -> Buckets.ORIGIN.plusSeconds(seconds));
    return Arbitraries.oneOf(anywhere, nearOrigin);
  }

  @Provide
  Arbitrary<Duration> widths() {
    return Arbitraries.oneOf(
            Arbitraries.integers().between(1, Integer.MAX_VALUE),
            Arbitraries.of(1, 60, 3600, 86_400, 604_800))
        .map(Duration::ofSeconds);
  }

  private static BigInteger micros(Instant instant) {
    return BigInteger.valueOf(instant.getEpochSecond())
        .multiply(MICROS)
        .add(BigInteger.valueOf(instant.getNano() / 1000));
  }

  private static BigInteger micros(Duration duration) {
    return BigInteger.valueOf(duration.getSeconds())
        .multiply(MICROS)
        .add(BigInteger.valueOf(duration.getNano() / 1000));
  }

  /** Floor division for BigInteger, which divides toward zero. */
  private static BigInteger floorDiv(BigInteger a, BigInteger b) {
    BigInteger[] qr = a.divideAndRemainder(b);
    return qr[1].signum() < 0 ? qr[0].subtract(BigInteger.ONE) : qr[0];
  }

  @Property(tries = 2000)
  void startIsTheAlignedBucketHoldingTheTime(
      @ForAll("instants") Instant time, @ForAll("widths") Duration width) {
    BigInteger origin = micros(Buckets.ORIGIN);
    BigInteger w = micros(width);
    BigInteger expected = origin.add(floorDiv(micros(time).subtract(origin), w).multiply(w));
    Instant start = Buckets.start(time, width);
    assertThat(micros(start)).isEqualTo(expected);
    assertThat(start).isBeforeOrEqualTo(time);
    assertThat(start.plus(width)).isAfter(time);
  }

  @Property(tries = 2000)
  void countIsTheNumberOfBucketsFromTheOneHoldingFromToTheLastStartingBeforeTo(
      @ForAll("instants") Instant a,
      @ForAll("instants") Instant b,
      @ForAll("widths") Duration width) {
    Instant from = a.isBefore(b) ? a : b;
    Instant to = a.isBefore(b) ? b : a;
    BigInteger origin = micros(Buckets.ORIGIN);
    BigInteger w = micros(width);
    BigInteger first = floorDiv(micros(from).subtract(origin), w);
    // The last bucket starts before to: index ceil((to - origin) / w) - 1.
    BigInteger last = floorDiv(micros(to).subtract(origin).subtract(BigInteger.ONE), w);
    BigInteger expected =
        from.equals(to) ? BigInteger.ZERO : last.subtract(first).add(BigInteger.ONE);
    assertThat(BigInteger.valueOf(Buckets.count(from, to, width))).isEqualTo(expected);
    assertThat(Buckets.count(to, from, width)).isZero();
  }
}
