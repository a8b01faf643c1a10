package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.hivemq.extension.sdk.api.packets.publish.AckReasonCode;
import io.placebrain.collector.deadletter.DeadLetterSerializer;
import io.placebrain.collector.deadletter.MqttRefusalDeadLetterSerializer;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An MQTT 5 broker refuses one place's alert topic for good (PUBACK 0x87 not authorized): the sink
 * sends each refused alert once instead of again at every checkpoint, dead-letters it exactly once
 * (committed to the dead-letter topic with the broker's reason code), and the other place's alerts
 * and all readings keep flowing.
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

        // The refused alert is in the dead-letter topic once, with the broker's reason code.
        List<ConsumerRecord<byte[], byte[]>> letters =
            harness.kafka.consumeAll(harness.deadLetterTopic, Duration.ofSeconds(30));
        assertThat(letters)
            .singleElement()
            .satisfies(
                letter -> {
                  assertThat(TestKafka.header(letter, DeadLetterSerializer.REASON))
                      .isEqualTo("mqtt-refused");
                  assertThat(
                          TestKafka.header(
                              letter, MqttRefusalDeadLetterSerializer.MQTT_REASON_CODE))
                      .isEqualTo("0x87");
                  assertThat(TestKafka.header(letter, MqttRefusalDeadLetterSerializer.MQTT_REASON))
                      .isEqualTo("NOT_AUTHORIZED");
                  assertThat(TestKafka.header(letter, MqttRefusalDeadLetterSerializer.MQTT_TOPIC))
                      .isEqualTo(refusedTopic);
                  assertThat(TestKafka.utf8(letter.key())).isEqualTo(refusedTopic);
                  assertThat(TestKafka.utf8(letter.value()))
                      .contains(locked)
                      .contains("\"event_type\":\"created\"");
                });
      } finally {
        broker.refuseNothing();
        job.cancel().get();
      }
    }
  }

  /** Fails the job once, when the reading with key {@code fail} passes. */
  private static final class FailOnce implements MapFunction<Reading, Reading> {
    static final AtomicBoolean failed = new AtomicBoolean();

    @Override
    public Reading map(Reading reading) {
      if ("fail".equals(reading.key) && failed.compareAndSet(false, true)) {
        throw new IllegalStateException("injected failure after an MQTT refusal");
      }
      return reading;
    }
  }

  /**
   * The job fails right after the broker refused an alert and restarts from its last checkpoint:
   * whether that checkpoint still held the alert (sent again, refused again) or had handed the
   * refusal over, the refused alert is dead-lettered exactly once.
   */
  @Test
  void aRefusalIsDeadLetteredOnceAcrossAFailover() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    TestMqttBroker broker = TestServices.mqtt();
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    String refusedPlace = UUID.randomUUID().toString();
    String refusedTopic = "placebrain/" + refusedPlace + "/alerts";
    String locked = UUID.randomUUID().toString();
    Instant base = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);
    harness.kafka.send(
        harness.thresholdCreatedTopic,
        locked,
        JobHarness.threshold(UUID.randomUUID().toString(), locked, "temp", "max", 30, "critical"));
    broker.refuse(refusedTopic, AckReasonCode.NOT_AUTHORIZED);
    FailOnce.failed.set(false);
    try (MqttRecorder mqtt =
        MqttRecorder.subscribe(broker, "placebrain/" + JobHarness.PLACE + "/alerts")) {
      StreamExecutionEnvironment env = harness.environment(3);
      CollectorJob.build(
          env,
          harness.config,
          CollectorJob.parts(harness.config),
          readings -> readings.map(new FailOnce()).name("Fail once"));
      JobClient job = env.executeAsync("mqtt refusal failover");
      try {
        harness.awaitThresholdsApplied(mqtt, base);
        int refusalsBefore = broker.refusals().size();
        harness.kafka.send(
            harness.telemetryTopic,
            locked,
            harness
                .telemetry(locked, "temp", 31, base.plusSeconds(1).toString())
                .replace(JobHarness.PLACE, refusedPlace));
        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(60), () -> broker.refusals().size() > refusalsBefore))
            .as("the broker refused the alert")
            .isTrue();
        harness.kafka.send(
            harness.telemetryTopic,
            locked,
            harness.telemetry(locked, "fail", 1, base.plusSeconds(2).toString()));
        assertThat(JobHarness.await(Duration.ofSeconds(60), FailOnce.failed::get))
            .as("the injected failure")
            .isTrue();
        // Evidence, not a sleep: the restarted job completes checkpoints past the refusal.
        FLINK.awaitMoreCheckpoints(job.getJobID(), 5, Duration.ofSeconds(120));

        assertThat(harness.kafka.consumeAll(harness.deadLetterTopic, Duration.ofSeconds(30)))
            .as("the refused alert dead-lettered exactly once")
            .singleElement()
            .satisfies(
                letter -> {
                  assertThat(
                          TestKafka.header(
                              letter, MqttRefusalDeadLetterSerializer.MQTT_REASON_CODE))
                      .isEqualTo("0x87");
                  assertThat(TestKafka.utf8(letter.value())).contains(locked);
                });
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
      } finally {
        broker.refuseNothing();
        job.cancel().get();
      }
    }
  }
}
