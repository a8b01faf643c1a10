package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A slow broker — connected, but holding back its acknowledgement of an alert — does not hold the
 * job's checkpoints, so readings (committed at checkpoints) keep landing; the alert goes out once
 * the broker acknowledges. Runs with the product's default {@code mqtt.ack-timeout}.
 */
class MqttSlowBrokerITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  @Test
  void checkpointsAndReadingsDoNotWaitForASlowBroker() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    TestMqttBroker broker = TestServices.mqtt();
    JobHarness harness =
        new JobHarness(
            DB.get(),
            Map.of("mqtt.ack-timeout", CollectorJobConfig.DEFAULTS.get("mqtt.ack-timeout")));
    String topic = "placebrain/" + JobHarness.PLACE + "/alerts";
    String boiler = UUID.randomUUID().toString();
    String meter = UUID.randomUUID().toString();
    Instant base = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);
    harness.kafka.send(
        harness.thresholdCreatedTopic,
        boiler,
        JobHarness.threshold(UUID.randomUUID().toString(), boiler, "temp", "max", 30, "critical"));

    try (MqttRecorder mqtt = MqttRecorder.subscribe(broker, topic)) {
      StreamExecutionEnvironment env = harness.environment(0);
      CollectorJob.build(env, harness.config);
      JobClient job = env.executeAsync("mqtt slow broker");
      try {
        harness.awaitThresholdsApplied(mqtt, base);
        broker.holdAcknowledgements(topic);
        harness.kafka.send(
            harness.telemetryTopic,
            boiler,
            harness.telemetry(boiler, "temp", 31, base.plusSeconds(1).toString()));
        assertThat(JobHarness.await(Duration.ofSeconds(60), () -> broker.heldBack() >= 1))
            .as("the alert reached the broker, which does not acknowledge it")
            .isTrue();

        for (int i = 0; i < 200; i++) {
          harness.kafka.send(
              harness.telemetryTopic,
              meter,
              harness.telemetry(meter, "kwh", i, base.plusSeconds(i).toString()));
        }
        // Checkpoints every 300 ms; a sink waiting for the acknowledgement at each checkpoint
        // (formerly up to 10 s) would need far longer for these.
        FLINK.awaitMoreCheckpoints(job.getJobID(), 5, Duration.ofSeconds(30));
        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(30),
                    () ->
                        DB.get()
                                .queryLong(
                                    "SELECT count(*) FROM readings WHERE device_id = '"
                                        + meter
                                        + "'")
                            == 200))
            .as("readings landed while the alert waited for its acknowledgement")
            .isTrue();
        assertThat(broker.heldBack()).as("still unacknowledged meanwhile").isPositive();

        broker.releaseAcknowledgements();
        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(30),
                    () ->
                        mqtt.received().stream()
                            .anyMatch(
                                m -> m.payload().contains("\"device_id\":\"" + boiler + "\""))))
            .as("the alert is delivered once acknowledged")
            .isTrue();
      } finally {
        broker.releaseAcknowledgements();
        job.cancel().get();
      }
    }
  }
}
