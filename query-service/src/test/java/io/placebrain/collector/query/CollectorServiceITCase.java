package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.TlsTesting;
import io.placebrain.collector.proto.AggregatedReading;
import io.placebrain.collector.proto.Alert;
import io.placebrain.collector.proto.AlertSeverity;
import io.placebrain.collector.proto.AlertStatus;
import io.placebrain.collector.proto.AlertThresholdType;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.proto.DeleteReadingsRequest;
import io.placebrain.collector.proto.GetAlertCountsRequest;
import io.placebrain.collector.proto.GetAlertCountsResponse;
import io.placebrain.collector.proto.GetAlertsRequest;
import io.placebrain.collector.proto.GetAlertsResponse;
import io.placebrain.collector.proto.GetLatestReadingsRequest;
import io.placebrain.collector.proto.GetReadingsRequest;
import io.placebrain.collector.proto.KeyReadings;
import io.placebrain.collector.proto.ResolveAlertRequest;
import io.placebrain.collector.proto.SensorReading;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every RPC of the query service over a generated client stub, against real PostgreSQL (or
 * TimescaleDB with {@code COLLECTOR_TEST_DATABASE_URL}), Kafka and MQTT: happy paths, every
 * validation error, limits, deadlines, the MQTT outage on resolve, deletions from Kafka.
 */
class CollectorServiceITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static final Instant HOUR = Instant.now().truncatedTo(ChronoUnit.HOURS);
  private static QueryServiceHarness harness;

  @BeforeAll
  static void startService() throws Exception {
    harness = new QueryServiceHarness(DB.get(), Map.of());
  }

  @AfterAll
  static void stopService() throws Exception {
    if (harness != null) {
      harness.close();
    }
  }

  private static CollectorServiceGrpc.CollectorServiceBlockingStub client() {
    return harness.client();
  }

  private static Timestamp ts(Instant instant) {
    return Timestamp.newBuilder()
        .setSeconds(instant.getEpochSecond())
        .setNanos(instant.getNano())
        .build();
  }

  private static Instant instant(Timestamp timestamp) {
    return Instant.ofEpochSecond(timestamp.getSeconds(), timestamp.getNanos());
  }

  private static void assertInvalid(Runnable call, String messagePart) {
    assertStatus(call, Status.Code.INVALID_ARGUMENT, messagePart);
  }

  private static void assertStatus(Runnable call, Status.Code code, String messagePart) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).contains(messagePart);
            });
  }

  // --- GetLatestReadings ---

  @Test
  void latestReadingsAreTheNewestPerKeyOfThatDeviceOnly() throws Exception {
    UUID device = UUID.randomUUID();
    UUID other = UUID.randomUUID();
    harness.insertReading(device, "temperature", HOUR.minus(3, ChronoUnit.DAYS), 19.0);
    harness.insertReading(device, "temperature", HOUR.minusSeconds(60), 21.5);
    harness.insertReading(device, "temperature", HOUR.minusSeconds(120), 20.0);
    harness.insertReading(device, "humidity", HOUR.minus(20, ChronoUnit.DAYS), 40.0);
    harness.insertReading(device, "co2", HOUR.minusSeconds(5), 612.0);
    harness.insertReading(other, "temperature", HOUR, 99.0);

    List<SensorReading> latest =
        client()
            .getLatestReadings(
                GetLatestReadingsRequest.newBuilder().setDeviceId(device.toString()).build())
            .getReadingsList();

    assertThat(latest)
        .extracting(SensorReading::getKey, SensorReading::getValue, r -> instant(r.getTime()))
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("co2", 612.0, HOUR.minusSeconds(5)),
            org.assertj.core.groups.Tuple.tuple("humidity", 40.0, HOUR.minus(20, ChronoUnit.DAYS)),
            org.assertj.core.groups.Tuple.tuple("temperature", 21.5, HOUR.minusSeconds(60)));
  }

  @Test
  void latestReadingsOfAnUnknownDeviceAreEmpty() {
    assertThat(
            client()
                .getLatestReadings(
                    GetLatestReadingsRequest.newBuilder()
                        .setDeviceId(UUID.randomUUID().toString())
                        .build())
                .getReadingsList())
        .isEmpty();
  }

  @Test
  void latestReadingsRejectMissingAndMalformedDeviceIds() {
    assertInvalid(
        () -> client().getLatestReadings(GetLatestReadingsRequest.getDefaultInstance()),
        "device_id is required");
    assertInvalid(
        () ->
            client()
                .getLatestReadings(
                    GetLatestReadingsRequest.newBuilder().setDeviceId("not-a-uuid").build()),
        "device_id 'not-a-uuid' is not a UUID");
    assertInvalid(
        () ->
            client()
                .getLatestReadings(
                    GetLatestReadingsRequest.newBuilder().setDeviceId("1-2-3-4-5").build()),
        "is not a UUID");
  }

  // --- GetReadings, raw ---

  @Test
  void rawPointsAreTheRowsOfTheRangeInKeyAndTimeOrder() throws Exception {
    UUID device = UUID.randomUUID();
    Instant from = HOUR.minus(2, ChronoUnit.HOURS);
    Instant to = HOUR;
    harness.insertReading(device, "b", from.minusSeconds(1), 1); // before the range
    harness.insertReading(device, "b", from, 2); // first instant: inside
    harness.insertReading(device, "b", from.plusSeconds(30), 3);
    harness.insertReading(device, "a", from.plusSeconds(10), 4);
    harness.insertReading(device, "c", from.plusSeconds(20), 5);
    harness.insertReading(device, "a", to, 6); // end is exclusive
    harness.insertReading(UUID.randomUUID(), "a", from.plusSeconds(10), 7);

    List<KeyReadings> all =
        client().getReadings(rawRequest(device, from, to).build()).getSeriesList();
    assertThat(all).extracting(KeyReadings::getKey).containsExactly("a", "b", "c");
    assertThat(all.get(1).getRawPointsList())
        .extracting(SensorReading::getValue)
        .containsExactly(2.0, 3.0);
    assertThat(all.get(1).getRawPointsList().get(1).getTime()).isEqualTo(ts(from.plusSeconds(30)));
    assertThat(all).allSatisfy(series -> assertThat(series.getPointsList()).isEmpty());

    List<KeyReadings> some =
        client()
            .getReadings(
                rawRequest(device, from, to).addKeys("c").addKeys("a").addKeys("zz").build())
            .getSeriesList();
    assertThat(some).extracting(KeyReadings::getKey).containsExactly("a", "c");
  }

  private static GetReadingsRequest.Builder rawRequest(UUID device, Instant from, Instant to) {
    return GetReadingsRequest.newBuilder()
        .setDeviceId(device.toString())
        .setFrom(ts(from))
        .setTo(ts(to));
  }

  @Test
  void readingsRequestsAreValidated() {
    UUID device = UUID.randomUUID();
    assertInvalid(
        () ->
            client().getReadings(rawRequest(device, HOUR.minus(3, ChronoUnit.HOURS), HOUR).build()),
        "raw points (interval_seconds = 0) cover at most 2 hours");
    assertInvalid(
        () -> client().getReadings(rawRequest(device, HOUR, HOUR).build()), "must be before to");
    assertInvalid(
        () -> client().getReadings(rawRequest(device, HOUR, HOUR.minusSeconds(1)).build()),
        "must be before to");
    assertInvalid(
        () ->
            client()
                .getReadings(
                    rawRequest(device, HOUR.minusSeconds(60), HOUR).setIntervalSeconds(-5).build()),
        "interval_seconds must be 0 (raw points) or positive (buckets), not -5");
    assertInvalid(
        () ->
            client()
                .getReadings(
                    GetReadingsRequest.newBuilder()
                        .setDeviceId(device.toString())
                        .setTo(ts(HOUR))
                        .build()),
        "from is required");
    assertInvalid(
        () ->
            client()
                .getReadings(
                    GetReadingsRequest.newBuilder()
                        .setDeviceId(device.toString())
                        .setFrom(ts(HOUR))
                        .build()),
        "to is required");
    assertInvalid(
        () ->
            client()
                .getReadings(
                    rawRequest(device, HOUR.minusSeconds(60), HOUR).setDeviceId("x").build()),
        "device_id 'x' is not a UUID");
    assertInvalid(
        () ->
            client()
                .getReadings(rawRequest(device, HOUR.minusSeconds(60), HOUR).addKeys("").build()),
        "keys[0] must have 1 to 100 characters");
    assertInvalid(
        () ->
            client()
                .getReadings(
                    rawRequest(device, HOUR.minus(30, ChronoUnit.DAYS), HOUR)
                        .setIntervalSeconds(1)
                        .build()),
        "buckets per key; at most 50000");
    assertInvalid(
        () ->
            client()
                .getReadings(
                    rawRequest(device, HOUR.minusSeconds(60), HOUR)
                        .setFrom(Timestamp.newBuilder().setSeconds(1).setNanos(-1))
                        .build()),
        "from is not a valid timestamp");
  }

  @Test
  void rawAnswersOverFiftyThousandRowsAreRefusedNotTruncated() throws Exception {
    UUID device = UUID.randomUUID();
    Instant from = HOUR.minus(2, ChronoUnit.HOURS);
    harness.database.execute(
        "INSERT INTO readings (time, device_id, key, value)"
            + " SELECT timestamptz '"
            + from
            + "' + i * interval '100 milliseconds', '"
            + device
            + "', 'k', i FROM generate_series(0, 50000) AS i");
    assertStatus(
        () -> client().getReadings(rawRequest(device, from, HOUR).build()),
        Status.Code.RESOURCE_EXHAUSTED,
        "more than 50000 raw points");
    // One row fewer fits.
    List<KeyReadings> series =
        client().getReadings(rawRequest(device, from.plusMillis(1), HOUR).build()).getSeriesList();
    assertThat(series.get(0).getRawPointsCount()).isEqualTo(50_000);
  }

  // --- GetReadings, aggregates ---

  @Test
  void aggregatesMatchAnIndependentComputationAndFillEmptyBuckets() throws Exception {
    UUID device = UUID.randomUUID();
    Random random = new Random(42);
    Instant start = HOUR.minus(12, ChronoUnit.HOURS);
    List<double[]> temperature = new ArrayList<>(); // {epochSecond, value}
    List<double[]> humidity = new ArrayList<>();
    for (int minute = 0; minute < 12 * 60; minute += 7) {
      if (minute >= 180 && minute < 330) {
        continue; // a gap of 2.5 hours: at least 4 empty 30-minute buckets
      }
      Instant time = start.plusSeconds(minute * 60L + random.nextInt(60));
      double t = 15 + random.nextDouble() * 10;
      harness.insertReading(device, "temperature", time, t);
      temperature.add(new double[] {time.getEpochSecond(), t});
      if (minute % 21 == 0) {
        double h = 30 + random.nextDouble() * 30;
        harness.insertReading(device, "humidity", time, h);
        humidity.add(new double[] {time.getEpochSecond(), h});
      }
    }
    // Not aligned to a bucket: the first bucket begins before from, and holds only rows >= from.
    Instant from = start.plusSeconds(10 * 60);
    Instant to = HOUR.minusSeconds(1);
    int interval = 1800;

    List<KeyReadings> series =
        client()
            .getReadings(rawRequest(device, from, to).setIntervalSeconds(interval).build())
            .getSeriesList();

    assertThat(series).extracting(KeyReadings::getKey).containsExactly("humidity", "temperature");
    assertBuckets(series.get(0), humidity, from, to, interval);
    assertBuckets(series.get(1), temperature, from, to, interval);
    long empty = series.get(1).getPointsList().stream().filter(p -> !p.hasAvg()).count();
    assertThat(empty).isGreaterThanOrEqualTo(4);

    List<KeyReadings> onlyHumidity =
        client()
            .getReadings(
                rawRequest(device, from, to)
                    .setIntervalSeconds(interval)
                    .addKeys("humidity")
                    .addKeys("no-such-key")
                    .build())
            .getSeriesList();
    assertThat(onlyHumidity).extracting(KeyReadings::getKey).containsExactly("humidity");
    assertThat(onlyHumidity.get(0)).isEqualTo(series.get(0));
  }

  /** Buckets computed here from the rows, aligned like time_bucket (origin 2000-01-03 UTC). */
  private static void assertBuckets(
      KeyReadings actual, List<double[]> rows, Instant from, Instant to, int interval) {
    long origin = Instant.parse("2000-01-03T00:00:00Z").getEpochSecond();
    long first = origin + Math.floorDiv(from.getEpochSecond() - origin, interval) * (long) interval;
    TreeMap<Long, List<Double>> byBucket = new TreeMap<>();
    for (long bucket = first; bucket < to.getEpochSecond(); bucket += interval) {
      byBucket.put(bucket, new ArrayList<>());
    }
    for (double[] row : rows) {
      long second = (long) row[0];
      if (second >= from.getEpochSecond() && second < to.getEpochSecond()) {
        long bucket = origin + Math.floorDiv(second - origin, interval) * (long) interval;
        byBucket.get(bucket).add(row[1]);
      }
    }
    List<AggregatedReading> points = actual.getPointsList();
    assertThat(points).hasSize(byBucket.size());
    assertThat(actual.getRawPointsList()).isEmpty();
    int i = 0;
    for (Map.Entry<Long, List<Double>> bucket : byBucket.entrySet()) {
      AggregatedReading point = points.get(i++);
      assertThat(point.getTime().getSeconds()).isEqualTo(bucket.getKey());
      List<Double> values = bucket.getValue();
      if (values.isEmpty()) {
        assertThat(point.hasAvg() || point.hasMin() || point.hasMax()).isFalse();
      } else {
        double avg = values.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertThat(point.getAvg()).isCloseTo(avg, within(1e-9));
        assertThat(point.getMin())
            .isEqualTo(values.stream().mapToDouble(d -> d).min().orElseThrow());
        assertThat(point.getMax())
            .isEqualTo(values.stream().mapToDouble(d -> d).max().orElseThrow());
      }
    }
  }

  @Test
  void aggregatesOfADeviceWithoutReadingsAreEmpty() {
    assertThat(
            client()
                .getReadings(
                    rawRequest(UUID.randomUUID(), HOUR.minus(1, ChronoUnit.DAYS), HOUR)
                        .setIntervalSeconds(3600)
                        .build())
                .getSeriesList())
        .isEmpty();
  }

  // --- DeleteReadings ---

  @Test
  void deleteReadingsRemovesAlertsAndReadingsOfThoseDevicesOnly() throws Exception {
    UUID place = UUID.randomUUID();
    UUID doomed = UUID.randomUUID();
    UUID alsoDoomed = UUID.randomUUID();
    UUID kept = UUID.randomUUID();
    for (UUID device : List.of(doomed, alsoDoomed, kept)) {
      harness.insertReading(device, "t", HOUR.minusSeconds(10), 1);
      harness.insertReading(device, "t", HOUR.minus(40, ChronoUnit.DAYS), 1);
      harness.insertAlert(UUID.randomUUID(), place, device, "active", "warning", HOUR);
    }

    assertThat(
            client()
                .deleteReadings(
                    DeleteReadingsRequest.newBuilder()
                        .addDeviceIds(doomed.toString())
                        .addDeviceIds(alsoDoomed.toString().toUpperCase())
                        .build())
                .getSuccess())
        .isTrue();

    assertThat(countOf(doomed)).isZero();
    assertThat(countOf(alsoDoomed)).isZero();
    assertThat(countOf(kept)).isEqualTo(3);
  }

  private static long countOf(UUID device) throws Exception {
    return harness.count("SELECT count(*) FROM readings WHERE device_id = '" + device + "'")
        + harness.count("SELECT count(*) FROM alerts WHERE device_id = '" + device + "'");
  }

  @Test
  void deleteReadingsIsValidated() {
    assertInvalid(
        () -> client().deleteReadings(DeleteReadingsRequest.getDefaultInstance()),
        "device_ids must name at least one id");
    assertInvalid(
        () ->
            client()
                .deleteReadings(
                    DeleteReadingsRequest.newBuilder()
                        .addDeviceIds(UUID.randomUUID().toString())
                        .addDeviceIds("'; DROP TABLE readings; --")
                        .build()),
        "device_ids[1]");
  }

  // --- Device deletions from Kafka ---

  @Test
  void deviceDeletionEventsDeleteAlertsAndReadings() throws Exception {
    UUID place = UUID.randomUUID();
    UUID single = UUID.randomUUID();
    UUID bulkA = UUID.randomUUID();
    UUID bulkB = UUID.randomUUID();
    UUID kept = UUID.randomUUID();
    for (UUID device : List.of(single, bulkA, bulkB, kept)) {
      harness.insertReading(device, "t", HOUR.minusSeconds(10), 1);
      harness.insertAlert(UUID.randomUUID(), place, device, "active", "critical", HOUR);
    }

    var kafka = TestServices.kafka();
    kafka.send(harness.deviceDeletedTopic, single.toString(), "this is not JSON");
    kafka.send(
        harness.deviceDeletedTopic,
        single.toString(),
        "{\"device_id\": \"" + single + "\", \"place_id\": \"" + place + "\"}");
    kafka.send(
        harness.bulkDeletedTopic,
        place.toString(),
        "{\"device_ids\": [\"" + bulkA + "\", \"" + bulkB + "\"]}");

    awaitZero(single);
    awaitZero(bulkA);
    awaitZero(bulkB);
    assertThat(countOf(kept)).isEqualTo(2);
  }

  private static void awaitZero(UUID device) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (countOf(device) > 0) {
      assertThat(System.nanoTime()).as("rows of %s still there", device).isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  // --- GetAlerts ---

  @Test
  void alertsAreFilteredPagedAndCounted() throws Exception {
    UUID place = UUID.randomUUID();
    UUID device = UUID.randomUUID();
    UUID otherDevice = UUID.randomUUID();
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      UUID id = UUID.randomUUID();
      ids.add(id);
      harness.insertAlert(
          id,
          place,
          i % 3 == 0 ? otherDevice : device,
          i % 2 == 0 ? "active" : "resolved",
          i % 4 == 0 ? "critical" : "warning",
          HOUR.minusSeconds(60L * i));
    }
    harness.insertAlert(UUID.randomUUID(), UUID.randomUUID(), device, "active", "warning", HOUR);

    GetAlertsResponse first =
        client().getAlerts(GetAlertsRequest.newBuilder().setPlaceId(place.toString()).build());
    assertThat(first.getTotal()).isEqualTo(60);
    assertThat(first.getItemsCount()).isEqualTo(50); // per_page defaults to 50
    assertThat(first.getItemsList()).extracting(Alert::getId).startsWith(ids.get(0).toString());

    GetAlertsResponse page2 =
        client()
            .getAlerts(
                GetAlertsRequest.newBuilder()
                    .setPlaceId(place.toString())
                    .setPage(2)
                    .setPerPage(7)
                    .build());
    assertThat(page2.getTotal()).isEqualTo(60);
    assertThat(page2.getItemsList())
        .extracting(Alert::getId)
        .containsExactlyElementsOf(
            ids.subList(7, 14).stream().map(UUID::toString).collect(Collectors.toList()));

    GetAlertsResponse beyond =
        client()
            .getAlerts(
                GetAlertsRequest.newBuilder()
                    .setPlaceId(place.toString())
                    .setPage(100)
                    .setPerPage(200)
                    .build());
    assertThat(beyond.getItemsList()).isEmpty();
    assertThat(beyond.getTotal()).isEqualTo(60);

    GetAlertsResponse filtered =
        client()
            .getAlerts(
                GetAlertsRequest.newBuilder()
                    .setPlaceId(place.toString())
                    .setStatus(AlertStatus.ALERT_STATUS_ACTIVE)
                    .setSeverity(AlertSeverity.ALERT_SEVERITY_CRITICAL)
                    .setDeviceId(otherDevice.toString())
                    .setFrom(ts(HOUR.minusSeconds(60L * 40)))
                    .setTo(ts(HOUR.plusSeconds(1)))
                    .setPerPage(200)
                    .build());
    // i in [0, 40], i % 3 == 0, i % 2 == 0, i % 4 == 0 → i % 12 == 0: 0, 12, 24, 36
    assertThat(filtered.getTotal()).isEqualTo(4);
    assertThat(filtered.getItemsList())
        .extracting(Alert::getId)
        .containsExactly(
            ids.get(0).toString(),
            ids.get(12).toString(),
            ids.get(24).toString(),
            ids.get(36).toString());
    Alert alert = filtered.getItems(0);
    assertThat(alert.getStatus()).isEqualTo(AlertStatus.ALERT_STATUS_ACTIVE);
    assertThat(alert.getSeverity()).isEqualTo(AlertSeverity.ALERT_SEVERITY_CRITICAL);
    assertThat(alert.getThresholdType()).isEqualTo(AlertThresholdType.ALERT_THRESHOLD_TYPE_MAX);
    assertThat(alert.getPlaceId()).isEqualTo(place.toString());
    assertThat(alert.getKey()).isEqualTo("temperature");
    assertThat(alert.getValue()).isEqualTo(31.5);
    assertThat(alert.getThresholdValue()).isEqualTo(30.0);
    assertThat(alert.hasResolvedAt()).isFalse();
    assertThat(instant(alert.getCreatedAt())).isEqualTo(HOUR);

    GetAlertsResponse resolved =
        client()
            .getAlerts(
                GetAlertsRequest.newBuilder()
                    .setPlaceId(place.toString())
                    .setStatus(AlertStatus.ALERT_STATUS_RESOLVED)
                    .setSensorId(UUID.nameUUIDFromBytes(("sensor" + device).getBytes()).toString())
                    .build());
    assertThat(resolved.getTotal()).isEqualTo(20); // odd i, not a multiple of 3
    assertThat(resolved.getItems(0).hasResolvedAt()).isTrue();
  }

  @Test
  void alertRequestsAreValidated() {
    String place = UUID.randomUUID().toString();
    assertInvalid(
        () -> client().getAlerts(GetAlertsRequest.getDefaultInstance()), "place_id is required");
    assertInvalid(
        () -> client().getAlerts(GetAlertsRequest.newBuilder().setPlaceId("nope").build()),
        "place_id 'nope' is not a UUID");
    assertInvalid(
        () ->
            client()
                .getAlerts(GetAlertsRequest.newBuilder().setPlaceId(place).setPerPage(201).build()),
        "per_page must be 1 to 200");
    assertInvalid(
        () ->
            client()
                .getAlerts(GetAlertsRequest.newBuilder().setPlaceId(place).setPerPage(-1).build()),
        "per_page must be 1 to 200");
    assertInvalid(
        () ->
            client().getAlerts(GetAlertsRequest.newBuilder().setPlaceId(place).setPage(-1).build()),
        "page starts at 1");
    assertInvalid(
        () ->
            client()
                .getAlerts(
                    GetAlertsRequest.newBuilder().setPlaceId(place).setStatusValue(9).build()),
        "status 9 is not an AlertStatus");
    assertInvalid(
        () ->
            client()
                .getAlerts(
                    GetAlertsRequest.newBuilder().setPlaceId(place).setSeverityValue(9).build()),
        "severity 9 is not an AlertSeverity");
    assertInvalid(
        () ->
            client()
                .getAlerts(
                    GetAlertsRequest.newBuilder().setPlaceId(place).setSensorId("s").build()),
        "sensor_id 's' is not a UUID");
    assertInvalid(
        () ->
            client()
                .getAlerts(
                    GetAlertsRequest.newBuilder().setPlaceId(place).setDeviceId("d").build()),
        "device_id 'd' is not a UUID");
    assertInvalid(
        () ->
            client()
                .getAlerts(
                    GetAlertsRequest.newBuilder()
                        .setPlaceId(place)
                        .setFrom(ts(HOUR))
                        .setTo(ts(HOUR))
                        .build()),
        "must be before to");
  }

  // --- GetAlertCounts ---

  @Test
  void alertCountsCountUnresolvedAlertsPerRequestedPlace() throws Exception {
    UUID busy = UUID.randomUUID();
    UUID calm = UUID.randomUUID();
    UUID quiet = UUID.randomUUID();
    for (int i = 0; i < 3; i++) {
      harness.insertAlert(UUID.randomUUID(), busy, UUID.randomUUID(), "active", "warning", HOUR);
    }
    harness.insertAlert(UUID.randomUUID(), busy, UUID.randomUUID(), "resolved", "warning", HOUR);
    harness.insertAlert(UUID.randomUUID(), calm, UUID.randomUUID(), "active", "critical", HOUR);
    harness.insertAlert(UUID.randomUUID(), quiet, UUID.randomUUID(), "resolved", "warning", HOUR);

    GetAlertCountsResponse counts =
        client()
            .getAlertCounts(
                GetAlertCountsRequest.newBuilder()
                    .addPlaceId(busy.toString())
                    .addPlaceId(calm.toString().toUpperCase())
                    .addPlaceId(quiet.toString())
                    .build());
    assertThat(counts.getUnresolvedByPlaceMap())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(busy.toString(), 3, calm.toString().toUpperCase(), 1, quiet.toString(), 0));
    assertThat(counts.getTotalUnresolved()).isEqualTo(4);

    assertThat(
            client()
                .getAlertCounts(GetAlertCountsRequest.getDefaultInstance())
                .getTotalUnresolved())
        .isZero();
    assertInvalid(
        () ->
            client()
                .getAlertCounts(
                    GetAlertCountsRequest.newBuilder()
                        .addPlaceId(busy.toString())
                        .addPlaceId("x")
                        .build()),
        "place_id[1] 'x' is not a UUID");
  }

  // --- ResolveAlert ---

  @Test
  void resolvingAnAlertUpdatesTheRowAndPublishesTheResolvedEventOnce() throws Exception {
    UUID place = UUID.randomUUID();
    UUID id = UUID.randomUUID();
    UUID device = UUID.randomUUID();
    harness.insertAlert(id, place, device, "active", "critical", HOUR.minusSeconds(600));
    try (MqttRecorder recorder =
        MqttRecorder.subscribe(TestServices.mqtt(), "placebrain/" + place + "/alerts")) {
      Alert alert =
          client()
              .resolveAlert(ResolveAlertRequest.newBuilder().setAlertId(id.toString()).build())
              .getAlert();
      assertThat(alert.getStatus()).isEqualTo(AlertStatus.ALERT_STATUS_RESOLVED);
      assertThat(alert.hasResolvedAt()).isTrue();
      assertThat(instant(alert.getResolvedAt()))
          .isCloseTo(Instant.now(), within(1, ChronoUnit.MINUTES));
      assertThat(
              harness.count(
                  "SELECT count(*) FROM alerts WHERE id = '" + id + "' AND status = 'resolved'"))
          .isOne();

      List<MqttRecorder.Received> messages = recorder.await(1, Duration.ofSeconds(10));
      String payload = messages.get(0).payload();
      assertThat(messages.get(0).qos()).isEqualTo(1);
      assertThat(payload)
          .contains("\"id\":\"" + id + "\"")
          .contains("\"event_type\":\"resolved\"")
          .contains("\"place_id\":\"" + place + "\"")
          .contains("\"device_id\":\"" + device + "\"")
          .contains("\"threshold_type\":\"max\"")
          .contains("\"severity\":\"critical\"")
          .contains("\"created_at\":\"" + HOUR.minusSeconds(600) + "\"")
          .doesNotContain("\"resolved_at\":null");

      // Again: the same row back, nothing published.
      Alert again =
          client()
              .resolveAlert(ResolveAlertRequest.newBuilder().setAlertId(id.toString()).build())
              .getAlert();
      assertThat(again).isEqualTo(alert);
      Thread.sleep(500);
      assertThat(recorder.received()).hasSize(1);
    }
  }

  @Test
  void resolveAlertIsValidatedAndUnknownAlertsAreNotFound() {
    String unknown = UUID.randomUUID().toString();
    assertStatus(
        () -> client().resolveAlert(ResolveAlertRequest.newBuilder().setAlertId(unknown).build()),
        Status.Code.NOT_FOUND,
        "alert " + unknown + " does not exist");
    assertInvalid(
        () -> client().resolveAlert(ResolveAlertRequest.getDefaultInstance()),
        "alert_id is required");
    assertInvalid(
        () -> client().resolveAlert(ResolveAlertRequest.newBuilder().setAlertId("42").build()),
        "alert_id '42' is not a UUID");
  }

  // The broker outage on resolve: ResolveOutboxITCase.

  // --- Deadlines ---

  @Test
  void aQueryThatOutlivesTheClientDeadlineIsCancelledOnTheServer() throws Exception {
    UUID id = UUID.randomUUID();
    harness.insertAlert(id, UUID.randomUUID(), UUID.randomUUID(), "active", "warning", HOUR);
    try (Connection blocker = harness.database.connect();
        Statement statement = blocker.createStatement()) {
      blocker.setAutoCommit(false);
      statement.execute("SELECT * FROM alerts WHERE id = '" + id + "' FOR UPDATE");

      assertStatus(
          () ->
              harness
                  .client()
                  .withDeadlineAfter(700, TimeUnit.MILLISECONDS)
                  .resolveAlert(ResolveAlertRequest.newBuilder().setAlertId(id.toString()).build()),
          Status.Code.DEADLINE_EXCEEDED,
          "");
      // The server gave up too: no query of the service still waits for the lock.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (harness.count(
              "SELECT count(*) FROM pg_stat_activity WHERE application_name ="
                  + " 'collector-query-service' AND wait_event_type = 'Lock'")
          > 0) {
        assertThat(System.nanoTime()).as("query still waiting").isLessThan(deadline);
        Thread.sleep(50);
      }
      blocker.rollback();
    }
    assertThat(
            harness.count(
                "SELECT count(*) FROM alerts WHERE id = '" + id + "' AND status = 'active'"))
        .isOne();
  }

  // --- Health, reflection, TLS, shutdown ---

  @Test
  void healthCheckingAndReflectionAnswer() throws Exception {
    HealthCheckResponse health =
        HealthGrpc.newBlockingStub(harness.channel)
            .check(
                HealthCheckRequest.newBuilder().setService("collector.CollectorService").build());
    assertThat(health.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

    CompletableFuture<List<String>> services = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(harness.channel)
            .serverReflectionInfo(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ServerReflectionResponse response) {
                    services.complete(
                        response.getListServicesResponse().getServiceList().stream()
                            .map(ServiceResponse::getName)
                            .collect(Collectors.toList()));
                  }

                  @Override
                  public void onError(Throwable t) {
                    services.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    assertThat(services.get(10, TimeUnit.SECONDS))
        .contains("collector.CollectorService", "grpc.health.v1.Health");
    requests.onCompleted();
  }

  @Test
  void servesOverTlsWhenGivenACertificate(@TempDir Path dir) throws Exception {
    Path cert = copy("server1.pem", dir);
    Path key = copy("server1.key", dir);
    try (QueryServiceHarness tls =
        new QueryServiceHarness(
            DB.get(),
            Map.of(
                "tls.cert-chain",
                cert.toString(),
                "tls.private-key",
                key.toString(),
                "kafka.bootstrap-servers",
                "",
                "mqtt.server",
                ""))) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress(
                  "127.0.0.1",
                  tls.service.port(),
                  TlsChannelCredentials.newBuilder()
                      .trustManager(TlsTesting.loadCert("ca.pem"))
                      .build())
              .overrideAuthority("foo.test.google.fr")
              .build();
      try {
        assertThat(
                CollectorServiceGrpc.newBlockingStub(channel)
                    .getLatestReadings(
                        GetLatestReadingsRequest.newBuilder()
                            .setDeviceId(UUID.randomUUID().toString())
                            .build())
                    .getReadingsList())
            .isEmpty();
      } finally {
        channel.shutdownNow();
      }
      // A plaintext client cannot talk to it.
      assertThatThrownBy(
              () ->
                  CollectorServiceGrpc.newBlockingStub(tls.channel)
                      .withDeadlineAfter(5, TimeUnit.SECONDS)
                      .getLatestReadings(
                          GetLatestReadingsRequest.newBuilder()
                              .setDeviceId(UUID.randomUUID().toString())
                              .build()))
          .isInstanceOf(StatusRuntimeException.class);
    }
  }

  private static Path copy(String name, Path dir) throws Exception {
    Path file = dir.resolve(name);
    try (InputStream in = TlsTesting.loadCert(name)) {
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
    }
    return file;
  }

  @Test
  void aTakenPortIsReportedWithTheSettingThatChangesItAndShutdownReleasesThePort()
      throws Exception {
    int port;
    try (QueryServiceHarness other =
        new QueryServiceHarness(
            DB.get(), Map.of("kafka.bootstrap-servers", "", "mqtt.server", ""))) {
      port = other.service.port();
      assertThatThrownBy(
              () ->
                  QueryService.start(
                      QueryServiceConfig.from(new String[0], Map.of())
                          .with(QueryServiceHarness.config(DB.get()))
                          .with(
                              Map.of(
                                  "server.port", Integer.toString(port),
                                  "kafka.bootstrap-servers", "",
                                  "mqtt.server", ""))))
          .hasMessageContaining("Port " + port)
          .hasMessageContaining("--server.port");
    }
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new java.net.InetSocketAddress("127.0.0.1", port));
    }
  }
}
