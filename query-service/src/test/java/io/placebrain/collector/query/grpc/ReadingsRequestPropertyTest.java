package io.placebrain.collector.query.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusException;
import io.placebrain.collector.proto.GetReadingsRequest;
import io.placebrain.collector.query.readings.Buckets;
import io.placebrain.collector.query.readings.ReadingsQueries;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * GetReadings validation over random timestamps (any seconds and nanos a client can send) and
 * intervals (any int32): it either refuses with INVALID_ARGUMENT or accepts a range that lies
 * within 1900 to 2200 and whose size, computed independently in {@link BigInteger}, is within the
 * limits. No input makes it fail otherwise or accept an oversized range.
 */
class ReadingsRequestPropertyTest {

  private static final String DEVICE = UUID.randomUUID().toString();
  private static final long MIN = Requests.MIN_TIME.getEpochSecond();
  private static final long MAX = Requests.MAX_TIME.getEpochSecond();

  @Provide
  Arbitrary<Long> seconds() {
    return Arbitraries.oneOf(
        Arbitraries.longs(),
        Arbitraries.longs().between(-62_135_596_800L, 253_402_300_799L),
        Arbitraries.longs().between(MIN - 86_400, MAX + 86_400),
        Arbitraries.longs().between(1_700_000_000L, 1_700_100_000L),
        Arbitraries.of(MIN, MAX, MIN - 1, MAX + 1, Long.MIN_VALUE, Long.MAX_VALUE));
  }

  @Provide
  Arbitrary<Integer> nanos() {
    return Arbitraries.oneOf(
        Arbitraries.integers(),
        Arbitraries.integers().between(0, 999_999_999),
        Arbitraries.of(0, -1, 999_999_999, 1_000_000_000));
  }

  @Provide
  Arbitrary<Integer> intervals() {
    return Arbitraries.oneOf(
        Arbitraries.integers(),
        Arbitraries.integers().between(0, 86_400),
        Arbitraries.of(0, 1, 60, 3600, Integer.MAX_VALUE, Integer.MIN_VALUE, -1));
  }

  private static Timestamp ts(long seconds, int nanos) {
    return Timestamp.newBuilder().setSeconds(seconds).setNanos(nanos).build();
  }

  @Property(tries = 5000)
  void everyAcceptedRangeIsBoundedAndEveryRefusalIsInvalidArgument(
      @ForAll("seconds") long fromSeconds,
      @ForAll("nanos") int fromNanos,
      @ForAll("seconds") long toSeconds,
      @ForAll("nanos") int toNanos,
      @ForAll("intervals") int interval) {
    GetReadingsRequest request =
        GetReadingsRequest.newBuilder()
            .setDeviceId(DEVICE)
            .setFrom(ts(fromSeconds, fromNanos))
            .setTo(ts(toSeconds, toNanos))
            .setIntervalSeconds(interval)
            .build();
    Requests.Readings accepted;
    try {
      accepted = Requests.readings(request);
    } catch (StatusException e) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      return;
    }
    Instant from = accepted.range().from();
    Instant to = accepted.range().to();
    assertThat(from).isAfterOrEqualTo(Requests.MIN_TIME).isBefore(to);
    assertThat(to).isBeforeOrEqualTo(Requests.MAX_TIME);
    assertThat(from).isEqualTo(Instant.ofEpochSecond(fromSeconds, fromNanos));
    assertThat(to).isEqualTo(Instant.ofEpochSecond(toSeconds, toNanos));
    if (interval == 0) {
      assertThat(accepted.width()).isNull();
      assertThat(Duration.between(from, to)).isLessThanOrEqualTo(Duration.ofHours(2));
    } else {
      assertThat(interval).isPositive();
      assertThat(accepted.width()).isEqualTo(Duration.ofSeconds(interval));
      assertThat(referenceBucketCount(from, to, interval))
          .isLessThanOrEqualTo(BigInteger.valueOf(ReadingsQueries.MAX_ROWS));
    }
  }

  /** Buckets of {@code [from, to)} aligned to the origin, in BigInteger nanoseconds. */
  private static BigInteger referenceBucketCount(Instant from, Instant to, int interval) {
    BigInteger width = BigInteger.valueOf(interval).multiply(BigInteger.valueOf(1_000_000_000));
    BigInteger origin = nanos(Buckets.ORIGIN);
    BigInteger first = floorDiv(nanos(from).subtract(origin), width);
    BigInteger last = floorDiv(nanos(to).subtract(origin).subtract(BigInteger.ONE), width);
    return last.subtract(first).add(BigInteger.ONE);
  }

  private static BigInteger nanos(Instant instant) {
    return BigInteger.valueOf(instant.getEpochSecond())
        .multiply(BigInteger.valueOf(1_000_000_000))
        .add(BigInteger.valueOf(instant.getNano()));
  }

  private static BigInteger floorDiv(BigInteger a, BigInteger b) {
    BigInteger[] qr = a.divideAndRemainder(b);
    return qr[1].signum() < 0 ? qr[0].subtract(BigInteger.ONE) : qr[0];
  }

  @Example
  void theIssuesCenturiesOfOneSecondBucketsAreRefused() {
    // from 1700 is outside the bound; from 1900 it is 9.9 billion buckets.
    assertThatThrownBy(
            () ->
                Requests.readings(
                    GetReadingsRequest.newBuilder()
                        .setDeviceId(DEVICE)
                        .setFrom(ts(Instant.parse("1700-01-01T00:00:00Z").getEpochSecond(), 0))
                        .setTo(ts(Instant.parse("2024-01-01T00:00:00Z").getEpochSecond(), 0))
                        .setIntervalSeconds(1)
                        .build()))
        .isInstanceOfSatisfying(
            StatusException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .contains("from must be between 1900-01-01T00:00:00Z and 2200-01-01T00:00:00Z");
            });
    assertThatThrownBy(
            () ->
                Requests.readings(
                    GetReadingsRequest.newBuilder()
                        .setDeviceId(DEVICE)
                        .setFrom(ts(MIN, 0))
                        .setTo(ts(MAX, 0))
                        .setIntervalSeconds(1)
                        .build()))
        .isInstanceOfSatisfying(
            StatusException.class,
            e -> assertThat(e.getStatus().getDescription()).contains("buckets per key"));
  }

  @Example
  void theWholeAcceptedSpanInOneBucketIsAccepted() throws StatusException {
    Requests.Readings accepted =
        Requests.readings(
            GetReadingsRequest.newBuilder()
                .setDeviceId(DEVICE)
                .setFrom(ts(MIN, 0))
                .setTo(ts(MAX, 0))
                .setIntervalSeconds(Integer.MAX_VALUE)
                .build());
    assertThat(accepted.width()).isEqualTo(Duration.ofSeconds(Integer.MAX_VALUE));
  }
}
