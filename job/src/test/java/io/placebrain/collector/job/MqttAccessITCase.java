package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.mqtt.HiveMqPublisher;
import io.placebrain.collector.mqtt.MqttSinkSettings;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import io.placebrain.collector.testing.mqtt.TestMqttBroker.Access;
import io.placebrain.collector.testing.tls.TestCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The MQTT sink against a broker that wants a user name and password, or TLS with a certificate
 * from a private CA: the right credentials and the CA file ({@code mqtt.ca-file}) connect; a wrong
 * password or an unknown CA is refused with an error that says what to check, and the job does not
 * fail for it (no restart loop): the client retries with backoff, alerts wait, readings flow.
 */
class MqttAccessITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final String TOPIC = "placebrain/" + JobHarness.PLACE + "/alerts";

  @TempDir Path dir;

  @ParameterizedTest(name = "MQTT {0}")
  @ValueSource(strings = {"5", "3.1.1"})
  void theRightCredentialsConnect(String version) throws Exception {
    try (TestMqttBroker broker =
        TestMqttBroker.launch(Access.ANONYMOUS.withCredentials("collector", "s3cret"))) {
      HiveMqPublisher publisher =
          new HiveMqPublisher(settings(broker, version, "collector", "s3cret"), 0);
      try {
        publisher.start(() -> {});
        awaitTrue("the publisher connected", publisher::isConnected);
        publisher.publish(TOPIC, payload("with credentials")).get();
        assertThat(broker.published())
            .singleElement()
            .satisfies(m -> assertThat(m.payload()).isEqualTo("with credentials"));
        assertThat(broker.refusedLogins()).isZero();
      } finally {
        publisher.close();
      }
    }
  }

  @ParameterizedTest(name = "MQTT {0}")
  @ValueSource(strings = {"5", "3.1.1"})
  void aWrongPasswordIsRefusedWithAnErrorNamingTheSettings(String version) throws Exception {
    try (TestMqttBroker broker =
        TestMqttBroker.launch(Access.ANONYMOUS.withCredentials("collector", "s3cret"))) {
      HiveMqPublisher publisher =
          new HiveMqPublisher(settings(broker, version, "collector", "wrong"), 0);
      try {
        publisher.start(() -> {});
        // Evidence of retrying rather than giving up: the broker saw a second attempt.
        awaitTrue("a second refused login", () -> broker.refusedLogins() >= 2);
        assertThat(publisher.isConnected()).isFalse();
        assertThat(publisher.connectionProblem())
            .contains(broker.serverUri())
            .containsAnyOf("BAD_USER_NAME_OR_PASSWORD", "BAD_USER_NAME_OR_PASSWORD".toLowerCase())
            .contains("mqtt.username and mqtt.password");
        assertThat(broker.published()).isEmpty();
      } finally {
        publisher.close();
      }
    }
  }

  /**
   * The decision for a refused login: the job keeps running (with no restart strategy, any task
   * failure would fail it), readings are stored, and the sink keeps trying.
   */
  @Test
  void aWrongPasswordNeitherFailsTheJobNorHoldsReadings() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    try (TestMqttBroker broker =
        TestMqttBroker.launch(Access.ANONYMOUS.withCredentials("collector", "s3cret"))) {
      JobHarness harness =
          new JobHarness(
              DB.get(),
              Map.of(
                  "mqtt.server", broker.serverUri(),
                  "mqtt.username", "collector",
                  "mqtt.password", "wrong"));
      String device = UUID.randomUUID().toString();
      Instant base = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);
      StreamExecutionEnvironment env = harness.environment(0);
      CollectorJob.build(env, harness.config);
      JobClient job = env.executeAsync("mqtt wrong password");
      try {
        harness.kafka.send(
            harness.thresholdCreatedTopic,
            device,
            JobHarness.threshold(
                UUID.randomUUID().toString(), device, "temp", "max", 30, "warning"));
        harness.kafka.send(
            harness.telemetryTopic,
            device,
            harness.telemetry(device, "temp", 31, base.plusSeconds(1).toString()));
        harness.kafka.send(
            harness.telemetryTopic,
            device,
            harness.telemetry(device, "temp", 20, base.plusSeconds(2).toString()));
        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(60),
                    () ->
                        DB.get()
                                .queryLong(
                                    "SELECT count(*) FROM readings WHERE device_id = '"
                                        + device
                                        + "'")
                            == 2))
            .as("readings stored while the broker refuses the sink")
            .isTrue();
        int refusedBefore = broker.refusedLogins();
        awaitTrue("the sink to try again", () -> broker.refusedLogins() > refusedBefore);
        FLINK.awaitMoreCheckpoints(job.getJobID(), 3, Duration.ofSeconds(60));
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
        assertThat(broker.published()).isEmpty();
      } finally {
        job.cancel().get();
      }
    }
  }

  @ParameterizedTest(name = "MQTT {0}")
  @ValueSource(strings = {"5", "3.1.1"})
  void tlsWithThePrivateCaFromTheCaFile(String version) throws Exception {
    TestCertificates ca = TestCertificates.authority("collector test CA");
    Path keyStore = ca.writeServerKeyStore(dir.resolve("broker.p12"), "changeit");
    Path caFile = ca.writeCaPem(dir.resolve("ca.pem"));
    try (TestMqttBroker broker =
        TestMqttBroker.launch(
            Access.ANONYMOUS
                .withTls(keyStore, "changeit")
                .withCredentials("collector", "s3cret"))) {
      assertThat(broker.serverUri()).startsWith("ssl://");
      HiveMqPublisher publisher =
          new HiveMqPublisher(
              settings(broker, version, "collector", "s3cret").withCaFile(caFile.toString()), 0);
      try {
        publisher.start(() -> {});
        awaitTrue("the publisher connected over TLS", publisher::isConnected);
        publisher.publish(TOPIC, payload("over TLS")).get();
        assertThat(broker.published())
            .singleElement()
            .satisfies(m -> assertThat(m.payload()).isEqualTo("over TLS"));
      } finally {
        publisher.close();
      }
    }
  }

  @Test
  void tlsWithoutTheCaFileIsRefusedWithAnErrorNamingIt() throws Exception {
    TestCertificates ca = TestCertificates.authority("collector test CA");
    Path keyStore = ca.writeServerKeyStore(dir.resolve("broker.p12"), "changeit");
    try (TestMqttBroker broker =
        TestMqttBroker.launch(Access.ANONYMOUS.withTls(keyStore, "changeit"))) {
      HiveMqPublisher publisher = new HiveMqPublisher(settings(broker, "5", null, null), 0);
      try {
        publisher.start(() -> {});
        awaitTrue("the TLS failure reported", () -> publisher.connectionProblem() != null);
        assertThat(publisher.connectionProblem()).contains("TLS").contains("mqtt.ca-file");
        assertThat(publisher.isConnected()).isFalse();
        assertThat(broker.published()).isEmpty();
      } finally {
        publisher.close();
      }
    }
  }

  private static MqttSinkSettings settings(
      TestMqttBroker broker, String version, String username, String password) {
    return new MqttSinkSettings(
        broker.serverUri(),
        "access-" + UUID.randomUUID().toString().substring(0, 8),
        username,
        password,
        version,
        100,
        Duration.ZERO);
  }

  private static byte[] payload(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static void awaitTrue(String what, java.util.function.BooleanSupplier condition)
      throws Exception {
    assertThat(JobHarness.await(Duration.ofSeconds(60), condition::getAsBoolean))
        .as("waiting for %s", what)
        .isTrue();
  }
}
