package io.placebrain.collector.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.placebrain.collector.job.ReadingsPipeline;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.kafka.KafkaBrokerProcess;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.collector.testing.process.ChildProcess;
import java.io.DataInputStream;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.shaded.guava33.com.google.common.hash.Hashing;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shaded job jar on a real session cluster, submitted with {@code deploy/flink/submit-job.sh}:
 * one deployment that goes through a first start, a SIGKILL of its TaskManager, a PostgreSQL crash,
 * a SIGKILL of the Kafka broker, and a stop with savepoint and resume at another parallelism, in
 * that order (each step builds on the one before, as an operator's cluster would live through
 * them).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SessionClusterITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  /** Every metric the job registers itself (a histogram shows as several values in REST). */
  static final List<String> CUSTOM_METRICS =
      List.of(
          "telemetryRecords",
          "telemetryReadings",
          "telemetryRejected",
          "controlRejected",
          "alertsCreated",
          "alertsResolved",
          "alertsClosedByUsers",
          "readingsOfDeletedDevicesDropped",
          "thresholdsHeld",
          "tombstonesHeld",
          "thresholdTombstonesHeld",
          "copyRowsWritten",
          "copyBatches",
          "copyRetries",
          "copyRowsRejected",
          "copyTransactionsPrepared",
          "copyBatchLatencyMs",
          "copyBufferedRows",
          "copyBufferedBytes",
          "copyAbandonedPreparedTransactions",
          "copyTransactionsCommitted",
          "copyTransactionsAlreadyCommitted",
          "copyCommitRetries",
          "copyRowsCommitted",
          "mqttPublished",
          "mqttDropped",
          "mqttRefused",
          "mqttPending");

  private static final Duration STARTUP = Duration.ofMinutes(2);
  private static final Instant BASE =
      Instant.now().minus(Duration.ofHours(2)).truncatedTo(ChronoUnit.SECONDS);
  private static final String HOT_DEVICE = UUID.randomUUID().toString();
  private static final String HOT_THRESHOLD = UUID.randomUUID().toString();
  private static final List<String> SEQUENCE_DEVICES = new ArrayList<>();

  private static final Logger LOG = LoggerFactory.getLogger(SessionClusterITCase.class);

  private static KafkaBrokerProcess broker;
  private static TestKafka kafka;
  private static FlinkSessionCluster cluster;
  private static CollectorDeployment deployment;
  private static MqttRecorder alerts;
  private static String jobId;
  private static final AtomicInteger hotReadings = new AtomicInteger();

  @BeforeAll
  static void startCluster() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    // A broker of this test's own, in a JVM the test can SIGKILL.
    broker = KafkaBrokerProcess.launch();
    kafka = new TestKafka(broker);
    cluster = FlinkSessionCluster.start();
    deployment = new CollectorDeployment(cluster, DB.get(), kafka);
    alerts =
        MqttRecorder.subscribe(
            TestServices.mqtt(), "placebrain/" + CollectorDeployment.PLACE + "/alerts");
    for (int i = 0; i < 4; i++) {
      SEQUENCE_DEVICES.add(UUID.randomUUID().toString());
    }
  }

  @AfterAll
  static void stopCluster() throws Exception {
    // Each in turn even when one fails, so no broker or cluster outlives a failed close.
    try {
      if (alerts != null) {
        alerts.close();
      }
    } finally {
      try {
        if (cluster != null) {
          cluster.close();
        }
      } finally {
        if (kafka != null) {
          kafka.close();
        }
      }
    }
  }

  @Test
  @Order(1)
  void jobRunsWithItsUidsMetricsAndAlerts() throws Exception {
    deployment.sendThreshold(HOT_THRESHOLD, HOT_DEVICE, "temp", "max", 30);

    // The submitter cannot ask the cluster: it must not submit (a second copy of a running job
    // would share its transaction prefix), but fail so its supervisor tries again.
    CollectorDeployment.Submission blind =
        deployment.submit(null, cluster.unreachableCli().toString());
    assertThat(blind.exitCode()).as(blind.output()).isNotZero();
    assertThat(blind.output()).contains("not submitted").contains("'flink list' failed");
    assertThat(cluster.rest().get("/jobs/overview").path("jobs")).isEmpty();

    CollectorDeployment.Submission first = deployment.submit(null);
    assertThat(first.exitCode()).as(first.output()).isZero();
    assertThat(first.output()).contains("submitted job 'collector'").contains("starting fresh");
    jobId = deployment.activeJobId();
    cluster.rest().awaitAllTasksRunning(jobId, STARTUP);

    // A second submitter run (a compose restart) leaves the running job alone.
    CollectorDeployment.Submission again = deployment.submit(null);
    assertThat(again.exitCode()).as(again.output()).isZero();
    assertThat(again.output()).contains("nothing to do").contains("RUNNING");
    assertThat(cluster.rest().jobs("CREATED", "INITIALIZING", "RUNNING", "RESTARTING"))
        .containsExactly(jobId);

    // Thresholds → MQTT: violating readings until the alert arrives (the threshold reaches the
    // evaluator on its own source, so the first readings may precede it).
    cluster
        .rest()
        .await(
            STARTUP,
            () -> {
              deployment.sendReading(
                  HOT_DEVICE, "temp", 35, BASE.plusMillis(hotReadings.getAndIncrement()));
              return alerts.received().stream()
                  .anyMatch(
                      m ->
                          m.payload().contains(HOT_DEVICE)
                              && m.payload().contains("\"event_type\":\"created\""));
            },
            "an MQTT alert for the hot device");

    cluster.rest().awaitMoreCheckpoints(jobId, 1, STARTUP);
    assertThat(operatorIdsInLatestCheckpoint()).containsAll(expectedOperatorIds());

    // Flink's standard sink metric (the web UI's "Records Sent" of the sink) counts what the
    // readings sink wrote; once the input stops, every row it sent is committed, no more, no less.
    AtomicReference<String> sentAndCommitted = new AtomicReference<>();
    try {
      cluster
          .rest()
          .await(
              STARTUP,
              () -> {
                Double sent = cluster.rest().operatorMetricSum(jobId, "Readings", "numRecordsSend");
                long committed = DB.get().queryLong("SELECT count(*) FROM readings");
                sentAndCommitted.set("numRecordsSend " + sent + ", rows committed " + committed);
                return sent != null && sent > 0 && sent.longValue() == committed;
              },
              "the readings sink's numRecordsSend equal to the committed rows");
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; last seen: " + sentAndCommitted.get(), e);
    }
    LOG.info("Readings sink: {}", sentAndCommitted.get());

    // The web UI's metrics come from each TaskManager's metric query service, fetched periodically.
    Set<String> restMetrics = new TreeSet<>();
    try {
      cluster
          .rest()
          .await(
              STARTUP,
              () -> {
                restMetrics.clear();
                restMetrics.addAll(restOperatorMetrics());
                return CUSTOM_METRICS.stream()
                    .allMatch(
                        metric ->
                            restMetrics.stream()
                                .anyMatch(
                                    name -> name.equals(metric) || name.startsWith(metric + "_")));
              },
              "every custom metric in REST");
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; REST lists " + restMetrics, e);
    }
    String prometheus =
        cluster
            .rest()
            .text(
                URI.create("http://127.0.0.1:" + cluster.taskManagerPrometheusPort() + "/metrics"));
    for (String metric : CUSTOM_METRICS) {
      assertThat(prometheus)
          .as("metric %s on the TaskManager's Prometheus endpoint", metric)
          .containsPattern("flink_taskmanager_job_task_operator_" + metric + "\\{");
    }
    assertThat(
            cluster
                .rest()
                .text(
                    URI.create(
                        "http://127.0.0.1:" + cluster.jobManagerPrometheusPort() + "/metrics")))
        .as("the JobManager's Prometheus endpoint")
        .contains("flink_jobmanager_numRunningJobs");
  }

  /** Operator ids are hashes of the uids: a uid lost or changed shows as a missing id. */
  private static Set<OperatorID> expectedOperatorIds() throws IllegalAccessException {
    Set<OperatorID> ids = new HashSet<>();
    for (Field field : ReadingsPipeline.class.getFields()) {
      if (Modifier.isStatic(field.getModifiers()) && field.getName().endsWith("_UID")) {
        String uid = (String) field.get(null);
        ids.add(
            new OperatorID(
                Hashing.murmur3_128(0)
                    .newHasher()
                    .putString(uid, StandardCharsets.UTF_8)
                    .hash()
                    .asBytes()));
      }
    }
    assertThat(ids).hasSizeGreaterThanOrEqualTo(10);
    return ids;
  }

  private static Set<OperatorID> operatorIdsInLatestCheckpoint() throws Exception {
    JsonNode latest =
        cluster.rest().get("/jobs/" + jobId + "/checkpoints").path("latest").path("completed");
    String location = latest.path("external_path").asText();
    Path metadata = Paths.get(URI.create(location)).resolve("_metadata");
    try (InputStream in = Files.newInputStream(metadata)) {
      CheckpointMetadata checkpoint =
          Checkpoints.loadCheckpointMetadata(
              new DataInputStream(in), SessionClusterITCase.class.getClassLoader(), location);
      Set<OperatorID> ids = new HashSet<>();
      for (OperatorState state : checkpoint.getOperatorStates()) {
        ids.add(state.getOperatorID());
      }
      return ids;
    }
  }

  /** Names of the metrics of every vertex's first subtask, as the web UI lists them. */
  private static Set<String> restOperatorMetrics() throws Exception {
    Set<String> names = new TreeSet<>();
    for (JsonNode vertex : cluster.rest().get("/jobs/" + jobId).path("vertices")) {
      JsonNode metrics =
          cluster
              .rest()
              .get(
                  "/jobs/"
                      + jobId
                      + "/vertices/"
                      + vertex.path("id").asText()
                      + "/subtasks/0/metrics");
      for (JsonNode metric : metrics) {
        String id = metric.path("id").asText();
        names.add(id.substring(id.lastIndexOf('.') + 1));
      }
    }
    return names;
  }

  @Test
  @Order(2)
  void everyReadingStoredExactlyOnceThroughTaskManagerKill() throws Exception {
    // About 40 s of input: it outlasts the first commits (checkpoints every 10 s) even on a busy
    // machine, so the kill lands while readings still arrive.
    int rounds = 1_000;
    ProducerThread producer = new ProducerThread(SEQUENCE_DEVICES, rounds);
    producer.start();
    try {
      // Kill while ingesting: some readings committed, more on the way.
      cluster
          .rest()
          .await(
              STARTUP,
              () -> storedSequence(SEQUENCE_DEVICES) > 0,
              "first sequence readings committed");
      assertThat(producer.produced.get()).as("still producing at the kill").isLessThan(rounds);
      ChildProcess killed = cluster.taskManager();
      killed.kill();
      cluster.startTaskManager();
      cluster.rest().awaitAllTasksRunning(jobId, Duration.ofMinutes(3));
    } finally {
      producer.join();
    }
    assertThat(producer.failure.get()).isNull();

    awaitAllStoredAndTwoMoreCheckpoints(SEQUENCE_DEVICES, rounds);
    assertSequenceExactlyOnce(SEQUENCE_DEVICES, rounds);
  }

  @Test
  @Order(3)
  void everyReadingStoredExactlyOnceThroughPostgresCrash() throws Exception {
    assumeTrue(DB.get().server().canCrash(), "this database server cannot be crashed by a test");
    List<String> devices = newDevices();
    int rounds = 800;
    ProducerThread producer = new ProducerThread(devices, rounds);
    producer.start();
    String prepared;
    try {
      cluster.rest().await(STARTUP, () -> storedSequence(devices) > 0, "first readings committed");
      assertThat(producer.produced.get()).as("still producing at the crash").isLessThan(rounds);
      long attempt = cluster.rest().highestAttempt(jobId);
      // The hardest moment: a checkpoint's rows prepared, their commit due. Open transactions die
      // with the server; prepared ones survive it and must be committed once, not written again.
      prepared = crashWhilePrepared(Duration.ofSeconds(30));
      // Down until the job has failed over: it restores the last checkpoint and reads its input
      // again, which an at-least-once sink would store a second time.
      cluster
          .rest()
          .await(
              STARTUP,
              () -> cluster.rest().highestAttempt(jobId) > attempt,
              "the job failed over while the database is down");
      DB.get().server().start();
      // Still prepared: the job found the server back before it committed that transaction.
      LOG.info(
          "PostgreSQL crashed with prepared transaction {}; after the restart: {}",
          prepared,
          prepared == null
              ? "-"
              : DB.get()
                  .queryLong(
                      "SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + prepared + "'"));
    } finally {
      // Never leave the database down for the steps after this one.
      DB.get().server().start();
      producer.join();
    }
    assertThat(producer.failure.get()).isNull();

    awaitAllStoredAndTwoMoreCheckpoints(devices, rounds);
    assertSequenceExactlyOnce(devices, rounds);
  }

  /**
   * Crashes PostgreSQL as soon as one of the sink's transactions is prepared and not yet committed
   * (or after {@code patience} without one); returns that transaction's id, or null.
   */
  private static String crashWhilePrepared(Duration patience) throws Exception {
    String prepared = null;
    try (Connection connection = DB.get().connect();
        java.sql.PreparedStatement query =
            connection.prepareStatement(
                "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()"
                    + " AND gid LIKE ? LIMIT 1")) {
      query.setString(1, deployment.transactionPrefix + ":%");
      long deadline = System.nanoTime() + patience.toNanos();
      while (prepared == null && System.nanoTime() < deadline) {
        try (ResultSet rows = query.executeQuery()) {
          if (rows.next()) {
            prepared = rows.getString(1);
            DB.get().server().crash();
          }
        }
      }
    }
    if (prepared == null) {
      DB.get().server().crash();
    }
    return prepared;
  }

  @Test
  @Order(4)
  void everyReadingStoredExactlyOnceThroughKafkaBrokerKill() throws Exception {
    List<String> devices = newDevices();
    int rounds = 800;
    ProducerThread producer = new ProducerThread(devices, rounds);
    producer.start();
    long attempt;
    try {
      cluster.rest().await(STARTUP, () -> storedSequence(devices) > 0, "first readings committed");
      assertThat(producer.produced.get()).as("still producing at the kill").isLessThan(rounds);
      attempt = cluster.rest().highestAttempt(jobId);
      // The job's source, its dead-letter producers and this test's producer all lose the broker;
      // it comes back on the same port with the same data, as a restarted broker does.
      broker.kill();
      broker.start();
    } finally {
      producer.join();
    }
    assertThat(producer.failure.get()).isNull();

    awaitAllStoredAndTwoMoreCheckpoints(devices, rounds);
    LOG.info(
        "Task attempts the Kafka broker kill added (0: no failover): {}",
        cluster.rest().highestAttempt(jobId) - attempt);
    assertSequenceExactlyOnce(devices, rounds);
  }

  private static List<String> newDevices() {
    List<String> devices = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      devices.add(UUID.randomUUID().toString());
    }
    return devices;
  }

  /** Produces sequence readings for some devices, spread over a few seconds. */
  private static final class ProducerThread extends Thread {
    final AtomicInteger produced = new AtomicInteger();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<String> devices;
    private final int rounds;

    ProducerThread(List<String> devices, int rounds) {
      super("sequence-producer");
      this.devices = devices;
      this.rounds = rounds;
    }

    @Override
    public void run() {
      try {
        for (int n = 0; n < rounds; n++) {
          for (String device : devices) {
            deployment.sendReading(device, "seq", n, BASE.plusSeconds(n));
          }
          produced.incrementAndGet();
          // Spread the input over the failure and the recovery.
          Thread.sleep(40);
        }
      } catch (Throwable e) {
        failure.set(e);
      }
    }
  }

  @Test
  @Order(5)
  void stopWithSavepointThenResumeAtAnotherParallelismKeepsThresholdsAndAlerts() throws Exception {
    String humidityThreshold = UUID.randomUUID().toString();
    deployment.sendThreshold(humidityThreshold, HOT_DEVICE, "hum", "min", 10);
    // Most likely in the savepoint's broadcast state by then (the devices topic is not read again
    // after a restore); if not yet read, it lies ahead of the restored offsets. Either way it must
    // hold after the resume.
    cluster.rest().awaitMoreCheckpoints(jobId, 1, STARTUP);
    List<String> createdBefore = alertIds(HOT_DEVICE, "created");
    assertThat(createdBefore).as("the hot device's alert from the first start").hasSize(1);

    String savepoint = stopWithSavepoint(jobId);
    assertThat(cluster.rest().jobStatus(jobId)).isEqualTo("FINISHED");
    assertThat(deployment.preparedTransactions())
        .as("prepared transactions after the stop")
        .isZero();

    CollectorDeployment.Submission resumed = deployment.submit(1);
    assertThat(resumed.exitCode()).as(resumed.output()).isZero();
    assertThat(resumed.output())
        .contains("resuming from " + Paths.get(URI.create(savepoint)))
        .contains("at parallelism 1");
    jobId = deployment.activeJobId();
    cluster.rest().awaitAllTasksRunning(jobId, STARTUP);
    for (JsonNode vertex : cluster.rest().get("/jobs/" + jobId).path("vertices")) {
      assertThat(vertex.path("parallelism").asInt()).as(vertex.path("name").asText()).isEqualTo(1);
    }

    // Still above the limit: the open alert stays open (no second "created"); then back below it:
    // that same alert resolves. A violation of the threshold added before the stop opens a new one.
    deployment.sendReading(HOT_DEVICE, "temp", 36, BASE.plusSeconds(3_600));
    deployment.sendReading(HOT_DEVICE, "temp", 20, BASE.plusSeconds(3_601));
    deployment.sendReading(HOT_DEVICE, "hum", 5, BASE.plusSeconds(3_602));
    cluster
        .rest()
        .await(
            STARTUP,
            () ->
                !alertIds(HOT_DEVICE, "resolved").isEmpty()
                    && alertIds(HOT_DEVICE, "created").size() >= 2,
            "the old alert resolved and the humidity alert created");
    assertThat(alertIds(HOT_DEVICE, "resolved")).containsExactlyElementsOf(createdBefore);
    List<String> created = alertIds(HOT_DEVICE, "created");
    assertThat(created).hasSize(2).startsWith(createdBefore.get(0));
    assertThat(
            alerts.received().stream()
                .filter(m -> m.payload().contains(created.get(1)))
                .allMatch(
                    m -> m.payload().contains("\"threshold_id\":\"" + humidityThreshold + "\"")))
        .isTrue();
  }

  /** Distinct ids of the alerts of a device seen on MQTT with that event type, in order. */
  private static List<String> alertIds(String device, String eventType) {
    List<String> ids = new ArrayList<>();
    for (MqttRecorder.Received message : alerts.received()) {
      String payload = message.payload();
      if (payload.contains("\"device_id\":\"" + device + "\"")
          && payload.contains("\"event_type\":\"" + eventType + "\"")) {
        java.util.regex.Matcher id =
            java.util.regex.Pattern.compile("\"id\":\"([^\"]+)\"").matcher(payload);
        if (id.find() && !ids.contains(id.group(1))) {
          ids.add(id.group(1));
        }
      }
    }
    return ids;
  }

  /** Stops the job with a savepoint through the REST API; returns the savepoint's location. */
  private static String stopWithSavepoint(String job) throws Exception {
    String request =
        cluster
            .rest()
            .post(
                "/jobs/" + job + "/stop",
                "{\"drain\": false, \"targetDirectory\": \""
                    + cluster.savepointDirectory().toUri()
                    + "\"}")
            .path("request-id")
            .asText();
    AtomicReference<JsonNode> result = new AtomicReference<>();
    cluster
        .rest()
        .await(
            STARTUP,
            () -> {
              JsonNode status = cluster.rest().get("/jobs/" + job + "/savepoints/" + request);
              result.set(status);
              return status.path("status").path("id").asText().equals("COMPLETED");
            },
            "stop with savepoint");
    JsonNode operation = result.get().path("operation");
    assertThat(operation.has("failure-cause")).as(operation.toString()).isFalse();
    cluster
        .rest()
        .await(STARTUP, () -> cluster.rest().jobStatus(job).equals("FINISHED"), "job finished");
    return operation.path("location").asText();
  }

  /**
   * Waits until every reading of {@code rounds} per device is stored, then for two more completed
   * checkpoints: anything still in flight (a duplicate) would be committed by them.
   */
  private static void awaitAllStoredAndTwoMoreCheckpoints(List<String> devices, int rounds)
      throws Exception {
    long expected = (long) rounds * devices.size();
    cluster
        .rest()
        .await(
            Duration.ofMinutes(3),
            () -> storedSequence(devices) >= expected,
            "all " + expected + " readings stored");
    cluster.rest().awaitMoreCheckpoints(jobId, 2, STARTUP);
  }

  private static long storedSequence(List<String> devices) throws Exception {
    return DB.get()
        .queryLong(
            "SELECT count(*) FROM readings WHERE key = 'seq' AND device_id IN ("
                + deviceList(devices)
                + ")");
  }

  private static void assertSequenceExactlyOnce(List<String> devices, int rounds) throws Exception {
    try (Connection connection = DB.get().connect();
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT device_id, count(*), count(DISTINCT value), min(value), max(value)"
                    + " FROM readings WHERE key = 'seq' AND device_id IN ("
                    + deviceList(devices)
                    + ") GROUP BY device_id")) {
      int seen = 0;
      while (rows.next()) {
        seen++;
        String device = rows.getString(1);
        assertThat(rows.getLong(2)).as("rows of %s", device).isEqualTo(rounds);
        assertThat(rows.getLong(3)).as("distinct readings of %s", device).isEqualTo(rounds);
        assertThat(rows.getDouble(4)).isEqualTo(0);
        assertThat(rows.getDouble(5)).isEqualTo(rounds - 1);
      }
      assertThat(seen).isEqualTo(devices.size());
    }
  }

  private static String deviceList(List<String> devices) {
    StringBuilder list = new StringBuilder();
    for (String device : devices) {
      list.append(list.length() == 0 ? "" : ", ").append('\'').append(device).append('\'');
    }
    return list.toString();
  }
}
