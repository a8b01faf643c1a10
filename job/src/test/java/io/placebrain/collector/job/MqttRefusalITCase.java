package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.hivemq.extension.sdk.api.packets.publish.AckReasonCode;
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
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An MQTT 5 broker refuses one place's alert topic for good (PUBACK 0x87 not authorized): the sink
 * drops each refused alert after the one refusal instead of sending it again at every checkpoint,
 * and the other place's alerts and all readings keep flowing.
 */
class MqttRefusalITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  @Test
  void aTopicTheBrokerRefusesIsNotRepublished() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    TestMqttBroker broker = TestServices.mqtt();
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    String refusedPlace = UUID.randomUUID().toString();
    String refusedTopic = "placebrain/" + refusedPlace + "/alerts";
    String locked = UUID.randomUUID().toString();
    String boiler = UUID.randomUUID().toString();
    Instant base = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);
    harness.kafka.send(
        harness.thresholdCreatedTopic,
        locked,
        JobHarness.threshold(UUID.randomUUID().toString(), locked, "temp", "max", 30, "critical"));
    harness.kafka.send(
        harness.thresholdCreatedTopic,
        boiler,
        JobHarness.threshold(UUID.randomUUID().toString(), boiler, "temp", "max", 30, "critical"));

    broker.refuse(refusedTopic, AckReasonCode.NOT_AUTHORIZED);
    try (MqttRecorder mqtt =
        MqttRecorder.subscribe(broker, "placebrain/" + JobHarness.PLACE + "/alerts")) {
      StreamExecutionEnvironment env = harness.environment(0);
      CollectorJob.build(env, harness.config);
      JobClient job = env.executeAsync("mqtt refusal");
      try {
        harness.awaitThresholdsApplied(mqtt, base);

        harness.kafka.send(
            harness.telemetryTopic,
            locked,
            harness
                .telemetry(locked, "temp", 31, base.plusSeconds(1).toString())
                .replace(JobHarness.PLACE, refusedPlace));
        harness.kafka.send(
            harness.telemetryTopic,
            boiler,
            harness.telemetry(boiler, "temp", 31, base.plusSeconds(1).toString()));

        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(60),
                    () ->
                        !broker.refusals().isEmpty()
                            && broker.published().stream()
                                .anyMatch(m -> m.payload().contains(boiler))))
            .as("the refused alert reached the broker, the other one was accepted")
            .isTrue();
        // Evidence, not a sleep: a republishing sink would send the refused alert again at each of
        // these checkpoints.
        FLINK.awaitMoreCheckpoints(job.getJobID(), 5, Duration.ofSeconds(60));

        assertThat(broker.refusals())
            .as("the refused alert was sent once and dropped")
            .singleElement()
            .satisfies(
                m -> {
                  assertThat(m.topic()).isEqualTo(refusedTopic);
                  assertThat(m.payload()).contains(locked);
                });
        assertThat(
                DB.get()
                    .queryLong("SELECT count(*) FROM readings WHERE device_id = '" + locked + "'"))
            .isEqualTo(1);
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
      } finally {
        broker.refuseNothing();
        job.cancel().get();
      }
    }
  }
}
