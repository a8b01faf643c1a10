package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.placebrain.collector.proto.GetLatestReadingsRequest;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.postgres.TestPostgres;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The database goes away under a running query service: calls answer UNAVAILABLE quickly, health
 * turns NOT_SERVING, a device deletion from Kafka waits; when the database returns, everything
 * recovers without a restart and the deletion is carried out.
 */
class DatabaseOutageITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @Test
  void callsFailClearlyDuringAnOutageAndRecoverAfterwards() throws Exception {
    TestPostgres server = DB.get().server();
    assumeTrue(
        server.canRestart(), "outage not staged: " + server + " is not started by the tests");
    try (QueryServiceHarness harness =
        new QueryServiceHarness(
            DB.get(), Map.of("database.connect-timeout", "1s", "mqtt.server", ""))) {
      UUID device = UUID.randomUUID();
      harness.insertReading(device, "t", Instant.now().minusSeconds(5), 1.0);
      GetLatestReadingsRequest request =
          GetLatestReadingsRequest.newBuilder().setDeviceId(device.toString()).build();
      assertThat(harness.client().getLatestReadings(request).getReadingsCount()).isOne();
      var health = HealthGrpc.newBlockingStub(harness.channel);
      HealthCheckRequest check =
          HealthCheckRequest.newBuilder().setService("collector.CollectorService").build();

      server.stop();
      try {
        // Within a 10 s deadline the answer is UNAVAILABLE (after the 1 s connect timeout), not
        // DEADLINE_EXCEEDED: the call fails fast instead of waiting for the database.
        assertThatThrownBy(
                () ->
                    harness
                        .client()
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .getLatestReadings(request))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                  assertThat(e.getStatus().getDescription()).contains("database is unavailable");
                });
        await(() -> health.check(check).getStatus() == ServingStatus.NOT_SERVING, "NOT_SERVING");

        TestServices.kafka()
            .send(
                harness.deviceDeletedTopic,
                device.toString(),
                "{\"device_id\": \"" + device + "\"}");
        Thread.sleep(2000); // the listener tries, fails and backs off meanwhile
      } finally {
        server.start();
      }

      await(() -> health.check(check).getStatus() == ServingStatus.SERVING, "SERVING again");
      await(
          () -> {
            try {
              return harness.count(
                      "SELECT count(*) FROM readings WHERE device_id = '" + device + "'")
                  == 0;
            } catch (Exception e) {
              return false;
            }
          },
          "the deletion carried out");
      assertThat(harness.client().getLatestReadings(request).getReadingsCount()).isZero();
    }
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
      Thread.sleep(200);
    }
  }
}
