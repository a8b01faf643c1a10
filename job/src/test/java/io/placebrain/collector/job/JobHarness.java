package io.placebrain.collector.job;

import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** Runs the job against the shared test services: configuration, topics, restarts, waiting. */
final class JobHarness {

  static final String PLACE = "6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e";

  final TestKafka kafka = TestServices.kafka();
  final TestDatabase db;
  final String telemetryTopic = TestKafka.uniqueTopic("telemetry.readings");
  final String deadLetterTopic = telemetryTopic + ".dlq";
  final String thresholdCreatedTopic = telemetryTopic + ".threshold.created";
  final String thresholdDeletedTopic = telemetryTopic + ".threshold.deleted";
  final String deviceDeletedTopic = telemetryTopic + ".device.deleted";
  final String devicesBulkDeletedTopic = telemetryTopic + ".device.bulk-deleted";
  final String alertResolvedTopic = telemetryTopic + ".alerts.resolved";
  final String controlDeadLetterTopic = telemetryTopic + ".devices.dlq";
  final CollectorJobConfig config;

  JobHarness(TestDatabase db, Map<String, String> overrides) {
    this.db = db;
    kafka.createTopic(telemetryTopic, 4);
    kafka.createTopic(deadLetterTopic, 1);
    for (String topic :
        List.of(
            thresholdCreatedTopic,
            thresholdDeletedTopic,
            deviceDeletedTopic,
            devicesBulkDeletedTopic,
            alertResolvedTopic,
            controlDeadLetterTopic)) {
      kafka.createTopic(topic, 1);
    }
    String run = UUID.randomUUID().toString().substring(0, 8);
    Map<String, String> settings = new HashMap<>();
    settings.putAll(
        Map.of(
            "kafka.threshold-created-topic", thresholdCreatedTopic,
            "kafka.threshold-deleted-topic", thresholdDeletedTopic,
            "kafka.device-deleted-topic", deviceDeletedTopic,
            "kafka.devices-bulk-deleted-topic", devicesBulkDeletedTopic,
            "kafka.alert-resolved-topic", alertResolvedTopic,
            "kafka.control-dead-letter-topic", controlDeadLetterTopic,
            "mqtt.server", TestServices.mqtt().serverUri(),
            "mqtt.version", "5",
            "mqtt.client-id", "collector-" + run,
            "mqtt.ack-timeout", "2s"));
    CollectorJobConfig base =
        CollectorJobConfig.from(new String[0], Map.of())
            .with(settings)
            .with(
                Map.of(
                    "kafka.bootstrap-servers",
                    kafka.bootstrapServers(),
                    "kafka.telemetry-topic",
                    telemetryTopic,
                    "kafka.dead-letter-topic",
                    deadLetterTopic,
                    "kafka.group-id",
                    "collector-" + run,
                    "database.url",
                    db.jdbcUrl(),
                    "database.user",
                    db.user(),
                    "database.password",
                    db.password() == null ? "" : db.password(),
                    "sink.transaction-prefix",
                    "collector-" + run,
                    "sink.flush-interval",
                    "200ms",
                    "checkpoint.interval",
                    "300ms"));
    this.config = base.with(overrides);
  }

  /** An environment on the shared MiniCluster, restarting failed tasks quickly and often. */
  StreamExecutionEnvironment environment(int restartAttempts) {
    Configuration configuration = new Configuration();
    if (restartAttempts == 0) {
      configuration.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    } else {
      configuration.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
      configuration.set(
          RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, restartAttempts);
      configuration.set(
          RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.configure(configuration);
    env.enableCheckpointing(config.checkpointInterval().toMillis());
    return env;
  }

  /** A telemetry record for one device with one reading {@code key = value} at a given time. */
  String telemetry(String device, String key, double value, String isoTime) {
    return "{\"place_id\": \""
        + PLACE
        + "\", \"device_id\": \""
        + device
        + "\", \"payload\": {\"ts\": \""
        + isoTime
        + "\", \"values\": {\""
        + key
        + "\": "
        + value
        + "}}}";
  }

  /** A threshold.created event. */
  static String threshold(
      String id, String device, String key, String type, double value, String severity) {
    return "{\"sensor_id\": \""
        + UUID.randomUUID()
        + "\", \"device_id\": \""
        + device
        + "\", \"key\": \""
        + key
        + "\", \"threshold_id\": \""
        + id
        + "\", \"threshold_type\": \""
        + type
        + "\", \"value\": "
        + value
        + ", \"severity\": \""
        + severity
        + "\"}";
  }

  /**
   * Waits until every evaluator instance has applied the thresholds produced so far: produces a
   * threshold on one probe device per instance, then violating probe readings until each probe's
   * alert arrives on MQTT. Device events reach each instance in order, so once its probe's
   * threshold is in place every threshold produced before it is too. (Readings and device events
   * come from different sources, and each instance receives the broadcast on its own channel: hence
   * one probe per instance, and the loop.)
   */
  void awaitThresholdsApplied(MqttRecorder recorder, java.time.Instant at) throws Exception {
    int parallelism = io.placebrain.collector.testing.flink.SharedMiniCluster.DEFAULT_PARALLELISM;
    java.util.List<String> probes = new java.util.ArrayList<>();
    while (probes.size() < parallelism) {
      String candidate = UUID.randomUUID().toString();
      int owner =
          org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignKeyToParallelOperator(
              candidate,
              org.apache.flink.runtime.state.KeyGroupRangeAssignment.computeDefaultMaxParallelism(
                  parallelism),
              parallelism);
      if (owner == probes.size()) {
        probes.add(candidate);
      }
    }
    for (String probe : probes) {
      kafka.send(
          thresholdCreatedTopic,
          probe,
          threshold(UUID.randomUUID().toString(), probe, "probe", "max", 0, "warning"));
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    for (int i = 0; !probes.stream().allMatch(p -> alerted(recorder, p)); i++) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("a probe threshold never fired");
      }
      for (String probe : probes) {
        kafka.send(
            telemetryTopic, probe, telemetry(probe, "probe", 1, at.plusMillis(i).toString()));
      }
      Thread.sleep(300);
    }
  }

  private static boolean alerted(MqttRecorder recorder, String device) {
    return recorder.received().stream()
        .anyMatch(m -> m.payload().contains("\"device_id\":\"" + device + "\""));
  }

  /** Polls until the condition holds or the timeout passes; returns whether it held. */
  static boolean await(Duration timeout, Callable<Boolean> condition) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.call()) {
        return true;
      }
      Thread.sleep(100);
    }
    return condition.call();
  }
}
