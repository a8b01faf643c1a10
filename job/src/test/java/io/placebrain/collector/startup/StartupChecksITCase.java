package io.placebrain.collector.startup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.placebrain.collector.job.CollectorJob;
import io.placebrain.collector.job.CollectorJobConfig;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.runtime.operators.sink.SinkWriterOperatorFactory;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Misconfigurations found before the job is submitted, against real Kafka, PostgreSQL and MQTT: one
 * message naming each, instead of a job that restarts over and over.
 */
class StartupChecksITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private final TestKafka kafka = TestServices.kafka();
  private final Map<String, String> settings = new HashMap<>();

  @BeforeEach
  void topicsAndServices() {
    for (String key :
        List.of(
            "kafka.telemetry-topic",
            "kafka.dead-letter-topic",
            "kafka.threshold-created-topic",
            "kafka.threshold-deleted-topic",
            "kafka.device-deleted-topic",
            "kafka.devices-bulk-deleted-topic",
            "kafka.control-dead-letter-topic",
            "kafka.alert-resolved-topic")) {
      String topic = TestKafka.uniqueTopic("startup");
      kafka.createTopic(topic, 1);
      settings.put(key, topic);
    }
    settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
    settings.put("database.url", DB.get().jdbcUrl());
    settings.put("database.user", DB.get().user());
    settings.put("database.password", DB.get().password() == null ? "" : DB.get().password());
    settings.put("mqtt.server", TestServices.mqtt().serverUri());
    settings.put("startup.check-timeout", "5s");
  }

  @Test
  void aWorkingSetUpHasNoProblem() {
    assertThat(checks().problems()).isEmpty();
  }

  @Test
  void everyProblemIsNamedAtOnce() throws Exception {
    settings.put("database.user", "nobody_" + Long.toHexString(System.nanoTime()));
    settings.put("kafka.device-deleted-topic", "devices.device.deleted.missing");
    settings.put("mqtt.server", "tcp://127.0.0.1:" + freePort());

    List<String> problems = checks().problems();

    assertThat(problems).hasSize(3);
    assertThat(problems.get(0))
        .contains("refused database.user 'nobody_")
        .contains("check database.user and database.password");
    assertThat(problems.get(1))
        .contains("has no topic devices.device.deleted.missing")
        .doesNotContain(settings.get("kafka.telemetry-topic"));
    assertThat(problems.get(2)).contains("cannot reach the MQTT broker").contains("mqtt.server");
  }

  @Test
  void aSecondCopyOfARunningJobIsRefused() throws Exception {
    String prefix = "running-" + Long.toHexString(System.nanoTime());
    settings.put("sink.transaction-prefix", prefix);
    // A running job: the job's own readings sink, whose writer subtask holds the prefix while it
    // runs, inside Flink's sink writer operator.
    PostgresCopySink<Reading> sink =
        CollectorJob.readingsSink(CollectorJobConfig.from(arguments(), Map.of()));
    try (var running =
        new OneInputStreamOperatorTestHarness<>(new SinkWriterOperatorFactory<>(sink))) {
      running.open();

      assertThat(checks().problems())
          .singleElement()
          .asString()
          .contains("another job is running with sink.transaction-prefix " + prefix)
          .contains("give each job its own prefix");
    }
    assertThat(checks().problems()).isEmpty();
  }

  @Test
  void theJobIsNotSubmittedWhenAProblemIsFound() {
    settings.put("kafka.telemetry-topic", "telemetry.missing");

    assertThatThrownBy(() -> CollectorJob.main(arguments()))
        .isInstanceOf(StartupChecks.StartupCheckFailed.class)
        .hasMessageContaining("The collector job was not started")
        .hasMessageContaining("has no topic telemetry.missing");
  }

  @Test
  void anUnreachableDatabaseAndKafkaAreNamed() throws Exception {
    settings.put("database.url", "jdbc:postgresql://127.0.0.1:" + freePort() + "/telemetry_db");
    settings.put("kafka.bootstrap-servers", "127.0.0.1:" + freePort());

    List<String> problems = checks().problems();

    assertThat(problems).hasSize(2);
    assertThat(problems.get(0))
        .contains("cannot reach the database at jdbc:postgresql://127.0.0.1");
    assertThat(problems.get(1)).contains("cannot reach Kafka at 127.0.0.1");
  }

  private StartupChecks checks() {
    CollectorJobConfig config = CollectorJobConfig.from(arguments(), Map.of());
    return new StartupChecks(config, Duration.ofSeconds(5));
  }

  private String[] arguments() {
    List<String> arguments = new ArrayList<>();
    settings.forEach(
        (key, value) -> {
          arguments.add("--" + key);
          arguments.add(value);
        });
    return arguments.toArray(new String[0]);
  }

  private static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
