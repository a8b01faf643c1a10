package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MQTT broker is down while alerts are raised, and stays down while the job stops and is
 * started again from its last checkpoint: the alerts the broker never acknowledged come back from
 * the checkpoint and all reach the broker once it returns, each alert's events in the order the
 * evaluator raised them.
 */
class MqttRestartITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final Pattern EVENT =
      Pattern.compile("\"id\":\"([^\"]+)\",\"event_type\":\"([a-z]+)\"");

  @TempDir Path checkpoints;

  /** Alert events of one device the broker accepted, first occurrence of each, in order. */
  private static List<String> firstOccurrences(TestMqttBroker broker, String device) {
    List<String> events = new ArrayList<>();
    for (TestMqttBroker.Published message : broker.published()) {
      Matcher matcher = EVENT.matcher(message.payload());
      if (message.payload().contains("\"device_id\":\"" + device + "\"") && matcher.find()) {
        String event = matcher.group(1) + " " + matcher.group(2);
        if (!events.contains(event)) {
          events.add(event);
        }
      }
    }
    return events;
  }

  private StreamExecutionEnvironment environment(JobHarness harness, String restoreFrom) {
    StreamExecutionEnvironment env = harness.environment(0);
    Configuration configuration = new Configuration();
    configuration.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.toUri().toString());
    configuration.set(
        CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
        ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    if (restoreFrom != null) {
      configuration.set(StateRecoveryOptions.SAVEPOINT_PATH, restoreFrom);
    }
    env.configure(configuration);
    return env;
  }

  /** The newest checkpoint a job retained. */
  private Path newestCheckpoint(JobClient job) throws Exception {
    try (Stream<Path> retained = Files.list(checkpoints.resolve(job.getJobID().toHexString()))) {
      return retained
          .filter(p -> p.getFileName().toString().startsWith("chk-"))
          .filter(p -> Files.exists(p.resolve("_metadata")))
          .max(
              Comparator.comparingLong(
                  p -> Long.parseLong(p.getFileName().toString().substring(4))))
          .orElseThrow();
    }
  }

  @Test
  void alertsPendingWhenTheJobStoppedAreDeliveredInOrderAfterARestoreOnceTheBrokerReturns()
      throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    TestMqttBroker broker = TestServices.mqtt();
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    String boiler = UUID.randomUUID().toString();
    Instant base = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);
    harness.kafka.send(
        harness.thresholdCreatedTopic,
        boiler,
        JobHarness.threshold(UUID.randomUUID().toString(), boiler, "temp", "max", 30, "critical"));
    int cycles = 5;

    JobClient second = null;
    try (MqttRecorder mqtt =
        MqttRecorder.subscribe(broker, "placebrain/" + JobHarness.PLACE + "/alerts")) {
      StreamExecutionEnvironment env = environment(harness, null);
      CollectorJob.build(env, harness.config);
      JobClient first = env.executeAsync("mqtt restart, first run");
      try {
        harness.awaitThresholdsApplied(mqtt, base);
        broker.stop();
        for (int i = 0; i < cycles; i++) {
          harness.kafka.send(
              harness.telemetryTopic,
              boiler,
              harness.telemetry(boiler, "temp", 31, base.plusSeconds(2 * i + 1).toString()));
          harness.kafka.send(
              harness.telemetryTopic,
              boiler,
              harness.telemetry(boiler, "temp", 20, base.plusSeconds(2 * i + 2).toString()));
        }
        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(60),
                    () ->
                        DB.get()
                                .queryLong(
                                    "SELECT count(*) FROM alerts WHERE device_id = '"
                                        + boiler
                                        + "' AND resolved_at IS NOT NULL")
                            == cycles))
            .as("the evaluator raised and resolved every alert")
            .isTrue();
        // Checkpoints after the alerts: their pending MQTT messages are in the newest one.
        FLINK.awaitMoreCheckpoints(first.getJobID(), 2, Duration.ofSeconds(60));
      } finally {
        first.cancel().get();
      }
      assertThat(firstOccurrences(broker, boiler)).as("nothing delivered yet").isEmpty();

      Path restoreFrom = newestCheckpoint(first);
      StreamExecutionEnvironment resumed = environment(harness, restoreFrom.toUri().toString());
      CollectorJob.build(resumed, harness.config);
      second = resumed.executeAsync("mqtt restart, second run");
      // The restored job runs and checkpoints (its pending alerts into state) with the broker down.
      FLINK.awaitMoreCheckpoints(second.getJobID(), 2, Duration.ofSeconds(60));

      broker.start();
      assertThat(
              JobHarness.await(
                  Duration.ofSeconds(90),
                  () -> firstOccurrences(broker, boiler).size() >= 2 * cycles))
          .as("every pending alert event delivered after the restore")
          .isTrue();

      List<String> events = firstOccurrences(broker, boiler);
      assertThat(events).hasSize(2 * cycles);
      for (int i = 0; i < cycles; i++) {
        String created = events.get(2 * i);
        String resolved = events.get(2 * i + 1);
        assertThat(created).as("event %d", 2 * i).endsWith(" created");
        assertThat(resolved)
            .as("event %d: the same alert resolved right after it was created", 2 * i + 1)
            .isEqualTo(created.replace(" created", " resolved"));
      }
      assertThat(second.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
    } finally {
      broker.start();
      if (second != null) {
        second.cancel().get();
      }
    }
  }

  /**
   * A checkpoint of two sink subtasks restored onto one: the union of their backlogs is more than
   * one subtask may keep, so the restored writer keeps the newest {@code mqtt.max-pending} and
   * counts the rest as dropped; what it keeps still goes out in each alert's order.
   */
  @Test
  void aBacklogRestoredOntoFewerSubtasksIsTrimmedToTheBound() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    TestMqttBroker broker = TestServices.mqtt();
    int bound = 15;
    int cycles = 5; // 10 events per device, one device per evaluator (and sink) subtask
    JobHarness harness =
        new JobHarness(DB.get(), Map.of("mqtt.max-pending", String.valueOf(bound)));
    List<String> devices = new ArrayList<>();
    int parallelism = SharedMiniCluster.DEFAULT_PARALLELISM;
    while (devices.size() < parallelism) {
      String candidate = UUID.randomUUID().toString();
      int owner =
          org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignKeyToParallelOperator(
              candidate,
              org.apache.flink.runtime.state.KeyGroupRangeAssignment.computeDefaultMaxParallelism(
                  parallelism),
              parallelism);
      if (owner == devices.size()) {
        devices.add(candidate);
      }
    }
    Instant base = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);
    for (String device : devices) {
      harness.kafka.send(
          harness.thresholdCreatedTopic,
          device,
          JobHarness.threshold(
              UUID.randomUUID().toString(), device, "temp", "max", 30, "critical"));
    }

    JobClient second = null;
    try (MqttRecorder mqtt =
        MqttRecorder.subscribe(broker, "placebrain/" + JobHarness.PLACE + "/alerts")) {
      StreamExecutionEnvironment env = environment(harness, null);
      CollectorJob.build(env, harness.config);
      JobClient first = env.executeAsync("mqtt scale-in, first run");
      try {
        harness.awaitThresholdsApplied(mqtt, base);
        broker.stop();
        for (int i = 0; i < cycles; i++) {
          for (String device : devices) {
            harness.kafka.send(
                harness.telemetryTopic,
                device,
                harness.telemetry(device, "temp", 31, base.plusSeconds(2 * i + 1).toString()));
            harness.kafka.send(
                harness.telemetryTopic,
                device,
                harness.telemetry(device, "temp", 20, base.plusSeconds(2 * i + 2).toString()));
          }
        }
        String inList = "('" + String.join("','", devices) + "')";
        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(60),
                    () ->
                        DB.get()
                                .queryLong(
                                    "SELECT count(*) FROM alerts WHERE device_id IN "
                                        + inList
                                        + " AND resolved_at IS NOT NULL")
                            == (long) cycles * devices.size()))
            .as("the evaluator raised and resolved every alert")
            .isTrue();
        FLINK.awaitMoreCheckpoints(first.getJobID(), 2, Duration.ofSeconds(60));
      } finally {
        first.cancel().get();
      }

      Path restoreFrom = newestCheckpoint(first);
      StreamExecutionEnvironment resumed = environment(harness, restoreFrom.toUri().toString());
      resumed.setParallelism(1);
      CollectorJob.build(resumed, harness.config);
      second = resumed.executeAsync("mqtt scale-in, second run");
      FLINK.awaitMoreCheckpoints(second.getJobID(), 2, Duration.ofSeconds(60));

      broker.start();
      JobClient resumedJob = second;
      assertThat(
              JobHarness.await(
                  Duration.ofSeconds(90),
                  () ->
                      devices.stream().mapToInt(d -> firstOccurrences(broker, d).size()).sum()
                          >= bound))
          .isTrue();
      // Evidence that nothing more is coming: checkpoints with the broker connected.
      FLINK.awaitMoreCheckpoints(resumedJob.getJobID(), 5, Duration.ofSeconds(60));

      int delivered = 0;
      for (String device : devices) {
        List<String> events = firstOccurrences(broker, device);
        delivered += events.size();
        // What is kept of a device's events is the newest part, in order: perhaps the resolution
        // of an alert whose creation was dropped, then whole alerts, created before resolved.
        int start = events.isEmpty() || events.get(0).endsWith(" created") ? 0 : 1;
        assertThat((events.size() - start) % 2)
            .as("%s: whole alerts after the first: %s", device, events)
            .isZero();
        for (int i = start; i < events.size(); i += 2) {
          assertThat(events.get(i)).endsWith(" created");
          assertThat(events.get(i + 1)).isEqualTo(events.get(i).replace(" created", " resolved"));
        }
      }
      assertThat(delivered)
          .as("the restored backlog of %d events was trimmed to the bound", 2 * cycles * 2)
          .isEqualTo(bound);
    } finally {
      broker.start();
      if (second != null) {
        second.cancel().get();
      }
    }
  }
}
