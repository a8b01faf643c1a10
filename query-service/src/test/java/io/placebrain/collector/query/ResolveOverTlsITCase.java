package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.proto.AlertStatus;
import io.placebrain.collector.proto.ResolveAlertRequest;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import io.placebrain.collector.testing.mqtt.TestMqttBroker.Access;
import io.placebrain.collector.testing.tls.TestCertificates;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The query service publishes its {@code resolved} events to a broker behind TLS with a certificate
 * from a private CA, trusted through the shared {@code mqtt.ca-file}, with the shared credentials.
 */
class ResolveOverTlsITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @TempDir Path dir;

  @Test
  void aResolvedEventReachesABrokerWithAPrivateCa() throws Exception {
    TestCertificates ca = TestCertificates.authority("collector query test CA");
    Path keyStore = ca.writeServerKeyStore(dir.resolve("broker.p12"), "changeit");
    Path caFile = ca.writeCaPem(dir.resolve("ca.pem"));
    UUID id = UUID.randomUUID();
    try (TestMqttBroker broker =
        TestMqttBroker.launch(
            Access.ANONYMOUS.withTls(keyStore, "changeit").withCredentials("query", "s3cret"))) {
      assertThat(broker.serverUri()).startsWith("ssl://");
      Map<String, String> overrides =
          Map.of(
              "kafka.bootstrap-servers", "",
              "mqtt.server", broker.serverUri(),
              "mqtt.ca-file", caFile.toString(),
              "mqtt.username", "query",
              "mqtt.password", "s3cret");
      try (QueryServiceHarness harness = new QueryServiceHarness(DB.get(), overrides)) {
        harness.insertAlert(
            id,
            UUID.randomUUID(),
            UUID.randomUUID(),
            "active",
            "warning",
            Instant.now().truncatedTo(ChronoUnit.HOURS));
        assertThat(
                harness
                    .client()
                    .resolveAlert(
                        ResolveAlertRequest.newBuilder().setAlertId(id.toString()).build())
                    .getAlert()
                    .getStatus())
            .isEqualTo(AlertStatus.ALERT_STATUS_RESOLVED);
        // The event leaves the outbox only once the broker acknowledged it.
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (harness.count(
                "SELECT count(*) FROM alert_events_outbox WHERE alert_id = '" + id + "'")
            > 0) {
          assertThat(System.nanoTime()).as("event still queued after 60 s").isLessThan(end);
          Thread.sleep(100);
        }
      }
      assertThat(broker.published())
          .singleElement()
          .satisfies(
              m ->
                  assertThat(m.payload())
                      .contains("\"id\":\"" + id + "\"")
                      .contains("\"event_type\":\"resolved\""));
      assertThat(broker.refusedLogins()).isZero();
    }
  }
}
