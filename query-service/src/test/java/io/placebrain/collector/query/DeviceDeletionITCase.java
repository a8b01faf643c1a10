package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.proto.DeleteReadingsRequest;
import io.placebrain.collector.proto.DeleteReadingsResponse;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Deletions are committed chunk by chunk, alerts first: while a deletion is held up, what it
 * already deleted is gone for everybody, and a retry finishes it. The same for DeleteReadings and
 * for the Kafka deletion events.
 */
class DeviceDeletionITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static final int CHUNK = 100;
  private static QueryServiceHarness harness;

  @BeforeAll
  static void start() throws Exception {
    harness =
        new QueryServiceHarness(
            DB.get(),
            Map.of(
                "deletion.chunk-rows", Integer.toString(CHUNK),
                "deletion.rpc-budget", "2s",
                "mqtt.server", ""));
  }

  @AfterAll
  static void stop() throws Exception {
    if (harness != null) {
      harness.close();
    }
  }

  /**
   * Readings of keys a and b (350 each) and c (50), three per timestamp so chunk boundaries fall on
   * shared times, and three alerts.
   */
  private static void insertDevice(UUID device) throws Exception {
    for (String key : new String[] {"a", "b", "c"}) {
      int rows = key.equals("c") ? 50 : 350;
      DB.get()
          .execute(
              "INSERT INTO readings (time, device_id, key, value) SELECT"
                  + " TIMESTAMPTZ '2026-11-01 00:00:00+00' + (i / 3) * INTERVAL '1 second', '"
                  + device
                  + "', '"
                  + key
                  + "', i FROM generate_series(1, "
                  + rows
                  + ") i");
    }
    for (int i = 0; i < 3; i++) {
      harness.insertAlert(
          UUID.randomUUID(),
          UUID.randomUUID(),
          device,
          "active",
          "warning",
          Instant.parse("2026-11-01T00:00:00Z"));
    }
  }

  private static long readings(UUID device, String key) throws Exception {
    return harness.count(
        "SELECT count(*) FROM readings WHERE device_id = '" + device + "' AND key = '" + key + "'");
  }

  private static long readings(UUID device) throws Exception {
    return harness.count("SELECT count(*) FROM readings WHERE device_id = '" + device + "'");
  }

  private static long alerts(UUID device) throws Exception {
    return harness.count("SELECT count(*) FROM alerts WHERE device_id = '" + device + "'");
  }

  /** Holds row locks on the device's key c, so a deletion stops there. */
  private static Connection lockKeyC(UUID device) throws Exception {
    Connection lock = DB.get().connect();
    lock.setAutoCommit(false);
    try (Statement statement = lock.createStatement()) {
      statement.execute(
          "SELECT 1 FROM readings WHERE device_id = '" + device + "' AND key = 'c' FOR UPDATE");
    }
    return lock;
  }

  private static long deletionsWaitingOnALock() {
    try {
      return DB.get()
          .queryLong(
              "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                  + " AND application_name = 'collector-query-service'"
                  + " AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM readings%'");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** What a held-up deletion already did is committed: alerts, keys a and b are gone. */
  private static void assertProgressCommitted(UUID device, UUID kept) throws Exception {
    assertThat(alerts(device)).isZero();
    assertThat(readings(device, "a")).isZero();
    assertThat(readings(device, "b")).isZero();
    assertThat(readings(device, "c")).isEqualTo(50);
    assertThat(readings(kept)).isEqualTo(750);
    assertThat(alerts(kept)).isEqualTo(3);
  }

  @Test
  void deleteReadingsCommitsChunkByChunkAnswersThatItContinuesAndARetryFinishes() throws Exception {
    UUID device = UUID.randomUUID();
    UUID kept = UUID.randomUUID();
    insertDevice(device);
    insertDevice(kept);
    DeleteReadingsRequest request =
        DeleteReadingsRequest.newBuilder().addDeviceIds(device.toString()).build();

    ListenableFuture<DeleteReadingsResponse> call;
    try (Connection lock = lockKeyC(device)) {
      call =
          CollectorServiceGrpc.newFutureStub(harness.channel)
              .withDeadlineAfter(20, TimeUnit.SECONDS)
              .deleteReadings(request);
      await(() -> deletionsWaitingOnALock() == 1);
      assertProgressCommitted(device, kept);

      // Held up past its budget, the call says so; the deletion keeps going.
      try {
        call.get(30, TimeUnit.SECONDS);
        throw new AssertionError("DeleteReadings answered OK while its deletion was held up");
      } catch (ExecutionException e) {
        Status status = ((StatusRuntimeException) e.getCause()).getStatus();
        assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(status.getDescription())
            .contains("continues in the background")
            .contains("DeleteReadings is idempotent");
      }
      lock.rollback();
    }

    assertThat(harness.client().deleteReadings(request).getSuccess()).isTrue();
    assertThat(readings(device)).isZero();
    assertThat(readings(kept)).isEqualTo(750);
    assertThat(alerts(kept)).isEqualTo(3);
    // Idempotent: again, nothing left to do.
    assertThat(harness.client().deleteReadings(request).getSuccess()).isTrue();
  }

  @Test
  void deletionEventsUseTheSameChunkedDeletion() throws Exception {
    UUID device = UUID.randomUUID();
    UUID kept = UUID.randomUUID();
    insertDevice(device);
    insertDevice(kept);
    try (Connection lock = lockKeyC(device)) {
      TestServices.kafka()
          .send(
              harness.deviceDeletedTopic,
              device.toString(),
              "{\"device_id\": \"" + device + "\", \"place_id\": \"" + UUID.randomUUID() + "\"}");
      await(() -> deletionsWaitingOnALock() == 1);
      assertProgressCommitted(device, kept);
      lock.rollback();
    }
    await(
        () -> {
          try {
            return readings(device) == 0;
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
    assertThat(readings(kept)).isEqualTo(750);
  }

  /** Polls for a condition that must become true; fails after a generous bound. */
  private static void await(BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("condition not met within 30 s");
      }
      Thread.sleep(20);
    }
  }
}
