package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.job.FailurePlan.Point;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.telemetry.KafkaRecord;
import io.placebrain.collector.telemetry.KafkaRecordDeserializer;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Real Kafka → the job on a MiniCluster (parallelism 2) → real PostgreSQL, with a failure planned
 * at each point of the two-phase commit. Each device sends readings numbered 0..N-1; afterwards
 * every number of every device must be stored exactly once, and nothing else.
 */
class ReadingsExactlyOnceITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final int DEVICES = 6;
  private static final int READINGS_PER_DEVICE = 600;
  private static final Instant BASE =
      Instant.now().minus(Duration.ofHours(2)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);

  private final List<String> devices = new ArrayList<>();
  private JobClient job;

  @BeforeAll
  static void createSchema() throws Exception {
    // The job creates it too; the test polls the table before the job's first writer is up.
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
  }

  @BeforeEach
  void clean() throws Exception {
    FailingCopySink.commitCalls.set(0);
    FailurePlan.checkpointsSeen.set(0); // checkpoint ids start again with each job
    for (int d = 0; d < DEVICES; d++) {
      devices.add(UUID.randomUUID().toString());
    }
  }

  @AfterEach
  void stop() throws Exception {
    if (job != null) {
      job.cancel().get();
    }
  }

  @ParameterizedTest
  @EnumSource(Point.class)
  void everyReadingAndAlertIsStoredExactlyOnce(Point failure) throws Exception {
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    FailurePlan.arm(Point.NONE, 0);
    // Two thresholds per device on the sequence numbers: min 50 is violated from 0 and resolved
    // at 50; max 100 is violated from 101 and stays active.
    for (String device : devices) {
      harness.kafka.send(
          harness.thresholdCreatedTopic,
          device,
          JobHarness.threshold(UUID.randomUUID().toString(), device, "seq", "min", 50, "warning"));
      harness.kafka.send(
          harness.thresholdCreatedTopic,
          device,
          JobHarness.threshold(
              UUID.randomUUID().toString(), device, "seq", "max", 100, "critical"));
    }

    StreamExecutionEnvironment env = harness.environment(20);
    attachJob(env, harness);
    job = env.executeAsync("exactly-once " + failure);
    try (MqttRecorder mqtt =
        MqttRecorder.subscribe(TestServices.mqtt(), "placebrain/" + JobHarness.PLACE + "/alerts")) {
      harness.awaitThresholdsApplied(mqtt, BASE.minusSeconds(1));
    }

    // Failures strike mid-stream: after a third of the records, or three checkpoints or commits on.
    FailurePlan.arm(
        failure,
        switch (failure) {
          case WHILE_BUFFERED, DURING_RECOVERY -> DEVICES * READINGS_PER_DEVICE / 3;
          case AFTER_PREPARE -> FailurePlan.checkpointsSeen.get() + 3;
          default -> FailingCopySink.commitCalls.get() + 3;
        });
    produceAll(harness);

    long expected = (long) DEVICES * READINGS_PER_DEVICE;
    boolean complete = JobHarness.await(Duration.ofSeconds(90), () -> storedRows() >= expected);
    assertThat(complete).as("all readings arrived").isTrue();
    // Evidence, not a pause: three more checkpoints committed whatever could still follow, so a
    // duplicate would show up now.
    FLINK.awaitMoreCheckpoints(job.getJobID(), 3, Duration.ofSeconds(60));

    if (failure != Point.NONE) {
      assertThat(FailurePlan.failuresInjected).as("the planned failure struck").hasValue(1);
    }
    if (failure == Point.DURING_RECOVERY) {
      assertThat(FailurePlan.recoveryFailuresInjected).as("recovery failed once too").hasValue(1);
    }
    assertThat(storedRows()).isEqualTo(expected);
    assertExactlyOncePerDevice();
    assertThat(preparedLeftovers(harness)).as("prepared transactions left behind").isZero();
    assertAlertsExactlyOnce();
    assertDeadLettersExactlyOnce(harness);
  }

  /**
   * The dead letters' Kafka transactions go through the same failures: after a restart the Kafka
   * sink commits again the transactions of the restored checkpoint, and for one its earlier attempt
   * had committed already it logs that its producer "is already fenced ... most likely signals data
   * loss". It is benign there: each dead letter is in the topic exactly once.
   */
  private static void assertDeadLettersExactlyOnce(JobHarness harness) {
    Map<String, Integer> seen = new java.util.HashMap<>();
    for (var letter : harness.kafka.consumeAll(harness.deadLetterTopic, Duration.ofSeconds(30))) {
      seen.merge(TestKafka.utf8(letter.value()), 1, Integer::sum);
    }
    Map<String, Integer> expected = new java.util.HashMap<>();
    for (int n = 0; n < READINGS_PER_DEVICE; n += BAD_RECORD_EVERY) {
      expected.put(badRecord(n), 1);
    }
    assertThat(seen).as("every dead letter exactly once").isEqualTo(expected);
  }

  private static final int BAD_RECORD_EVERY = 25;

  private static String badRecord(int n) {
    return "not json " + n;
  }

  /** Per device: the min alert from 0 to 50 (resolved) and the max alert from 101 (active). */
  private void assertAlertsExactlyOnce() throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection connection = DB.get().connect();
        Statement statement = connection.createStatement();
        ResultSet result =
            statement.executeQuery(
                "SELECT threshold_type, status, value,"
                    + " extract(epoch FROM created_at - '"
                    + BASE
                    + "'::timestamptz)::int,"
                    + " coalesce(extract(epoch FROM resolved_at - '"
                    + BASE
                    + "'::timestamptz)::int, -1)"
                    + " FROM alerts WHERE device_id IN ("
                    + deviceList()
                    + ")")) {
      while (result.next()) {
        rows.add(
            result.getString(1)
                + " "
                + result.getString(2)
                + " "
                + result.getDouble(3)
                + " "
                + result.getInt(4)
                + " "
                + result.getInt(5));
      }
    }
    List<String> expected = new ArrayList<>();
    for (int d = 0; d < DEVICES; d++) {
      expected.add("min resolved 0.0 0 50");
      expected.add("max active 101.0 101 -1");
    }
    assertThat(rows).as("alerts").containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void stopWithSavepointAndResumeStoresEveryReadingExactlyOnce(@TempDir Path savepoints)
      throws Exception {
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    FailurePlan.arm(Point.NONE, 0);
    produceAll(harness);
    long expected = (long) DEVICES * READINGS_PER_DEVICE;

    StreamExecutionEnvironment first = harness.environment(20);
    attachJob(first, harness);
    JobClient stopped = first.executeAsync("before savepoint");
    assertThat(JobHarness.await(Duration.ofSeconds(60), () -> storedRows() >= expected / 4))
        .isTrue();
    String savepoint =
        stopped
            .stopWithSavepoint(false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
            .get();
    long atSavepoint = storedRows();

    StreamExecutionEnvironment second = harness.environment(20);
    Configuration resume = new Configuration();
    resume.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
    second.configure(resume);
    attachJob(second, harness);
    job = second.executeAsync("after savepoint");

    boolean complete = JobHarness.await(Duration.ofSeconds(90), () -> storedRows() >= expected);
    assertThat(complete).isTrue();
    FLINK.awaitMoreCheckpoints(job.getJobID(), 3, Duration.ofSeconds(60));

    assertThat(atSavepoint).as("stopped mid-stream").isLessThan(expected);
    assertDeadLettersExactlyOnce(harness);
    assertThat(storedRows()).isEqualTo(expected);
    assertExactlyOncePerDevice();
    assertThat(preparedLeftovers(harness)).isZero();
  }

  /**
   * The rescale cases: the job fails right after a checkpoint completed, before its prepared
   * transactions are committed, and is restored from that retained checkpoint at another
   * parallelism. The committables of the former subtasks are committed by the new ones, their
   * leftovers rolled back, and every reading is stored once.
   */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(ints = {1, 3})
  void restoredAtAnotherParallelismWithTransactionsPendingStoresEveryReadingOnce(
      int parallelism, @TempDir Path checkpoints) throws Exception {
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    produceAll(harness);
    long expected = (long) DEVICES * READINGS_PER_DEVICE;

    StreamExecutionEnvironment first = harness.environment(0);
    Configuration retained = new Configuration();
    retained.set(
        org.apache.flink.configuration.CheckpointingOptions.CHECKPOINTS_DIRECTORY,
        checkpoints.toUri().toString());
    retained.set(
        org.apache.flink.configuration.CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
        org.apache.flink.configuration.ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    first.configure(retained);
    attachJob(first, harness);
    FailurePlan.arm(Point.BEFORE_COMMIT, 4);
    JobClient failed = first.executeAsync("fails before a commit");
    org.junit.jupiter.api.Assertions.assertThrows(
        Exception.class, () -> failed.getJobExecutionResult().get());
    assertThat(FailurePlan.failuresInjected).as("the planned failure struck").hasValue(1);
    assertThat(preparedLeftovers(harness))
        .as("prepared transactions of the completed checkpoint wait")
        .isPositive();
    long beforeRestore = storedRows();

    Path latest;
    try (var found = java.nio.file.Files.walk(checkpoints)) {
      latest =
          found
              .filter(path -> path.getFileName().toString().equals("_metadata"))
              .map(Path::getParent)
              .max(
                  java.util.Comparator.comparingLong(
                      path -> Long.parseLong(path.getFileName().toString().substring(4))))
              .orElseThrow();
    }
    FailurePlan.arm(Point.NONE, 0);
    StreamExecutionEnvironment second = harness.environment(20);
    second.setParallelism(parallelism);
    Configuration resume = new Configuration();
    resume.set(StateRecoveryOptions.SAVEPOINT_PATH, latest.toUri().toString());
    second.configure(resume);
    attachJob(second, harness);
    job = second.executeAsync("restored at parallelism " + parallelism);

    assertThat(JobHarness.await(Duration.ofSeconds(120), () -> storedRows() >= expected))
        .as("all readings arrived")
        .isTrue();
    FLINK.awaitMoreCheckpoints(job.getJobID(), 3, Duration.ofSeconds(60));
    assertThat(beforeRestore).as("stopped mid-stream").isLessThan(expected);
    assertThat(storedRows()).isEqualTo(expected);
    assertExactlyOncePerDevice();
    assertThat(preparedLeftovers(harness)).isZero();
    assertDeadLettersExactlyOnce(harness);
  }

  private static void attachJob(StreamExecutionEnvironment env, JobHarness harness) {
    PostgresCopySink<Reading> sink = CollectorJob.readingsSink(harness.config);
    CollectorJob.build(
        env,
        harness.config,
        CollectorJob.parts(harness.config)
            .withTelemetrySource(
                CollectorJob.telemetrySource(harness.config, new SlowDeserializer()))
            .withReadingsSink(FailingCopySink.around(sink)),
        readings ->
            readings.map(new FailingMap()).uid("planned-failures").name("Planned failures"));
  }

  /**
   * Reads about a thousand records a second per subtask, so a test spans many checkpoints. The
   * source is slowed rather than a later operator: back-pressure would fill the network buffers and
   * checkpoints would wait behind them.
   */
  private static final class SlowDeserializer extends KafkaRecordDeserializer {
    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<KafkaRecord> out) {
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      super.deserialize(record, out);
    }
  }

  private void produceAll(JobHarness harness) {
    for (int n = 0; n < READINGS_PER_DEVICE; n++) {
      if (n % BAD_RECORD_EVERY == 0) {
        harness.kafka.send(harness.telemetryTopic, devices.get(0), badRecord(n));
      }
      SequenceReadings.produce(harness, devices, BASE, n, n + 1);
    }
  }

  private long storedRows() throws Exception {
    return SequenceReadings.stored(DB.get(), devices);
  }

  private void assertExactlyOncePerDevice() throws Exception {
    try (Connection connection = DB.get().connect();
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT device_id, count(*), count(DISTINCT value), min(value), max(value),"
                    + " bool_and(time = '"
                    + BASE
                    + "'::timestamptz + value * interval '1 second')"
                    + " FROM readings WHERE device_id IN ("
                    + deviceList()
                    + ") GROUP BY device_id")) {
      int seen = 0;
      while (rows.next()) {
        seen++;
        String device = rows.getString(1);
        assertThat(rows.getLong(2)).as("rows of %s", device).isEqualTo(READINGS_PER_DEVICE);
        assertThat(rows.getLong(3))
            .as("distinct numbers of %s", device)
            .isEqualTo(READINGS_PER_DEVICE);
        assertThat(rows.getDouble(4)).isEqualTo(0);
        assertThat(rows.getDouble(5)).isEqualTo(READINGS_PER_DEVICE - 1);
        assertThat(rows.getBoolean(6)).as("each number at its own time").isTrue();
      }
      assertThat(seen).isEqualTo(DEVICES);
    }
  }

  private static long preparedLeftovers(JobHarness harness) throws Exception {
    return DB.get()
        .queryLong(
            "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE '"
                + harness.config.sinkTransactionPrefix()
                + ":%'");
  }

  private String deviceList() {
    return SequenceReadings.inList(devices);
  }
}
