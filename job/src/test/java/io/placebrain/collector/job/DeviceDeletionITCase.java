package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Readings before, during and after a device's deletion: once the pipeline has caught up, nothing
 * of the device remains in {@code readings} or {@code alerts}, and other devices are untouched.
 */
class DeviceDeletionITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  @ParameterizedTest
  @ValueSource(strings = {"exactly-once", "at-least-once"})
  void nothingOfADeletedDeviceRemains(String guarantee) throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    // Alerts wait in the alerts table sink's batch until a checkpoint writes them, so the alert
    // raised right before the deletion is certainly still there when the deletion marker reaches
    // the readings sink: a DELETE run at that moment would miss it.
    JobHarness harness =
        new JobHarness(
            DB.get(),
            Map.of(
                "sink.guarantee",
                guarantee,
                "alerts.table-flush-interval",
                "1h",
                // Checkpoints far apart compared with the moment between the alert and the
                // marker: one that lands in between would write the alert in time by chance.
                "checkpoint.interval",
                "3s"));
    String doomed = UUID.randomUUID().toString();
    String bulkDoomed = UUID.randomUUID().toString();
    String kept = UUID.randomUUID().toString();
    Instant base = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);
    for (String device : new String[] {doomed, bulkDoomed, kept}) {
      harness.kafka.send(
          harness.thresholdCreatedTopic,
          device,
          JobHarness.threshold(UUID.randomUUID().toString(), device, "temp", "max", 30, "warning"));
    }

    try (MqttRecorder mqtt =
        MqttRecorder.subscribe(TestServices.mqtt(), "placebrain/" + JobHarness.PLACE + "/alerts")) {
      StreamExecutionEnvironment env = harness.environment(0);
      CollectorJob.build(env, harness.config);
      JobClient job = env.executeAsync("device deletion");
      try {
        harness.awaitThresholdsApplied(mqtt, base);
        produce(harness, new String[] {doomed, bulkDoomed, kept}, base, 0, 100);
        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(60),
                    () ->
                        count("readings", doomed) == 100
                            && count("alerts", doomed) > 0
                            && count("readings", bulkDoomed) == 100))
            .as("the devices had readings and alerts before the deletion")
            .isTrue();

        // A new violation right before the deletion: its alert is in the alerts sink's batch when
        // the marker reaches the readings sink. (The telemetry and devices topics are read by
        // different sources, so the deletion is sent only once the alert was raised.)
        long raisedBefore = createdEvents(mqtt, doomed);
        harness.kafka.send(
            harness.telemetryTopic,
            doomed,
            harness.telemetry(doomed, "temp", 35, base.plusSeconds(100).toString()));
        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(60), () -> createdEvents(mqtt, doomed) > raisedBefore))
            .as("the alert of the last violation was raised")
            .isTrue();
        harness.kafka.send(
            harness.deviceDeletedTopic,
            doomed,
            "{\"device_id\": \"" + doomed + "\", \"place_id\": \"" + JobHarness.PLACE + "\"}");
        harness.kafka.send(
            harness.devicesBulkDeletedTopic,
            JobHarness.PLACE,
            "{\"device_ids\": [\"" + bulkDoomed + "\"]}");
        // Readings in flight and after: none of them may land.
        produce(harness, new String[] {doomed, bulkDoomed, kept}, base, 100, 200);

        boolean caughtUp =
            JobHarness.await(
                Duration.ofSeconds(60),
                () ->
                    count("readings", kept) == 200
                        && count("readings", doomed) == 0
                        && count("readings", bulkDoomed) == 0);
        // Anything that could reappear would by then: each checkpoint writes the alerts batch.
        FLINK.awaitMoreCheckpoints(job.getJobID(), 3, Duration.ofSeconds(60));

        assertThat(caughtUp).isTrue();
        assertThat(count("readings", doomed)).isZero();
        assertThat(count("alerts", doomed)).isZero();
        assertThat(count("readings", bulkDoomed)).isZero();
        assertThat(count("alerts", bulkDoomed)).isZero();
        assertThat(count("readings", kept)).isEqualTo(200);
        assertThat(count("alerts", kept)).isPositive();
      } finally {
        job.cancel().get();
      }
    }
  }

  private static void produce(
      JobHarness harness, String[] devices, Instant base, int from, int to) {
    for (int i = from; i < to; i++) {
      for (String device : devices) {
        // Alternating across the threshold, so each device keeps raising and resolving alerts.
        double value = i % 10 < 5 ? 35 : 20;
        harness.kafka.send(
            harness.telemetryTopic,
            device,
            harness.telemetry(device, "temp", value, base.plusSeconds(i).toString()));
      }
    }
  }

  private static long createdEvents(MqttRecorder mqtt, String device) {
    return mqtt.received().stream()
        .filter(m -> m.payload().contains("\"device_id\":\"" + device + "\""))
        .filter(m -> m.payload().contains("\"event_type\":\"created\""))
        .count();
  }

  private static long count(String table, String device) throws Exception {
    return DB.get()
        .queryLong("SELECT count(*) FROM " + table + " WHERE device_id = '" + device + "'");
  }
}
