package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the transaction prefix decides at job level: a second job submitted with the same {@code
 * sink.transaction-prefix} while the first runs (a copy deployed by mistake) fails at start with
 * the reason, without restarting and without touching the first job's transactions; a job started
 * without state refuses another job's leftovers; a job resumed with another prefix cleans up after
 * the old one.
 */
class TransactionPrefixITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final int DEVICES = 4;
  private static final int READINGS_PER_DEVICE = 300;
  private static final Instant BASE =
      Instant.now().minus(Duration.ofHours(2)).truncatedTo(ChronoUnit.SECONDS);

  private final List<String> devices = new ArrayList<>();

  @BeforeAll
  static void createSchema() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
  }

  /**
   * The last part of a transaction name, {@code <prefix>:<checkpoint>:<subtask>:<nonce>}: the job's
   * 8-digit tag, then 8 random digits. This one is of a job that never ran here.
   */
  private static final String ANOTHER_JOBS_NONCE = "0badc0de12345678";

  /**
   * The tag a job's transaction names carry, as the sink's progress table (public, documented)
   * records it for the job that last committed under {@code prefix}.
   */
  private static String jobTagOf(String prefix) throws Exception {
    try (java.sql.Connection connection = DB.get().connect();
        java.sql.PreparedStatement query =
            connection.prepareStatement(
                "SELECT DISTINCT job_tag FROM sink_progress WHERE prefix = ?")) {
      query.setString(1, prefix);
      try (java.sql.ResultSet rows = query.executeQuery()) {
        assertThat(rows.next()).as("a job committed under " + prefix).isTrue();
        String tag = rows.getString(1);
        assertThat(rows.next()).as("one job committed under " + prefix).isFalse();
        return tag;
      }
    }
  }

  @Test
  void aSecondJobWithTheSamePrefixFailsAndTheFirstStoresEveryReadingExactlyOnce() throws Exception {
    for (int d = 0; d < DEVICES; d++) {
      devices.add(UUID.randomUUID().toString());
    }
    JobHarness harness = new JobHarness(DB.get(), Map.of("sink.connect-timeout", "3s"));
    produce(harness, 0, READINGS_PER_DEVICE / 2);

    StreamExecutionEnvironment firstEnv = harness.environment(20);
    CollectorJob.build(firstEnv, harness.config);
    JobClient first = firstEnv.executeAsync("first");
    assertThat(JobHarness.await(Duration.ofSeconds(60), () -> storedRows() > 0))
        .as("the first job writes")
        .isTrue();

    // The same configuration but for what other systems fence on their own, which is not what
    // this test is about: the MQTT client ids, and the dead letters' Kafka transactions (their ids
    // derive from the same prefix; Kafka fences the older producer, and in one JVM the Kafka sink
    // refuses a second sink with the same prefix outright, a restartable failure).
    CollectorJobConfig secondConfig =
        harness.config.with(
            Map.of(
                "mqtt.client-id",
                "second-" + UUID.randomUUID(),
                "kafka.dead-letter-guarantee",
                "at-least-once"));
    StreamExecutionEnvironment secondEnv = harness.environment(20);
    CollectorJob.build(secondEnv, secondConfig);
    JobClient second = secondEnv.executeAsync("second");

    ExecutionException failure =
        org.junit.jupiter.api.Assertions.assertThrows(
            ExecutionException.class,
            () -> second.getJobExecutionResult().get(60, TimeUnit.SECONDS));
    assertThat(ExceptionUtils.stringifyException(failure))
        .contains(
            "another job is writing with transaction prefix "
                + harness.config.sinkTransactionPrefix()
                + " (subtask ")
        .contains("give each job its own sink.transaction-prefix");
    assertThat(graph(second.getJobID()).getStatusTimestamp(JobStatus.RESTARTING))
        .as("the second job was not restarted")
        .isZero();

    // Evidence that the first job carries on: more checkpoints complete, then every reading is
    // stored once.
    long checkpoints = completedCheckpoints(first.getJobID());
    assertThat(
            JobHarness.await(
                Duration.ofSeconds(60),
                () -> completedCheckpoints(first.getJobID()) >= checkpoints + 3))
        .as("the first job completes checkpoints")
        .isTrue();
    produce(harness, READINGS_PER_DEVICE / 2, READINGS_PER_DEVICE);
    long expected = (long) DEVICES * READINGS_PER_DEVICE;
    assertThat(JobHarness.await(Duration.ofSeconds(90), () -> storedRows() >= expected)).isTrue();
    long afterAll = completedCheckpoints(first.getJobID());
    assertThat(
            JobHarness.await(
                Duration.ofSeconds(60),
                () -> completedCheckpoints(first.getJobID()) >= afterAll + 3))
        .isTrue();

    assertThat(first.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
    assertThat(graph(first.getJobID()).getStatusTimestamp(JobStatus.RESTARTING))
        .as("the first job was not disturbed")
        .isZero();
    assertThat(storedRows()).isEqualTo(expected);
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM (SELECT device_id, value FROM readings WHERE key = 'seq'"
                        + " AND device_id IN ("
                        + deviceList()
                        + ") GROUP BY device_id, value HAVING count(*) > 1) duplicates"))
        .as("duplicates")
        .isZero();
    first.cancel().get();
  }

  @Test
  void aJobStartedWithoutStateAfterACancelRefusesInsteadOfStoringRowsTwice() throws Exception {
    for (int d = 0; d < DEVICES; d++) {
      devices.add(UUID.randomUUID().toString());
    }
    JobHarness harness = new JobHarness(DB.get(), Map.of("sink.connect-timeout", "3s"));
    produce(harness, 0, READINGS_PER_DEVICE);
    StreamExecutionEnvironment firstEnv = harness.environment(20);
    CollectorJob.build(firstEnv, harness.config);
    JobClient first = firstEnv.executeAsync("cancelled later");
    long expected = (long) DEVICES * READINGS_PER_DEVICE;
    assertThat(JobHarness.await(Duration.ofSeconds(90), () -> storedRows() >= expected)).isTrue();
    first.cancel().get();

    // flink run without -s: the consumer group's committed offsets may lag what is stored (the
    // offsets are committed after the checkpoint completes, a cancel can land in between).
    StreamExecutionEnvironment env = harness.environment(20);
    CollectorJob.build(env, harness.config);
    JobClient refused = env.executeAsync("without -s after a cancel");

    ExecutionException failure =
        org.junit.jupiter.api.Assertions.assertThrows(
            ExecutionException.class,
            () -> refused.getJobExecutionResult().get(60, TimeUnit.SECONDS));
    assertThat(ExceptionUtils.stringifyException(failure))
        .contains(
            "rows were already committed under transaction prefix "
                + harness.config.sinkTransactionPrefix()
                + " by another job (job "
                + jobTagOf(harness.config.sinkTransactionPrefix()))
        .contains("flink run -s <path>")
        .contains("DELETE FROM sink_progress WHERE prefix = ");
    assertThat(graph(refused.getJobID()).getStatusTimestamp(JobStatus.RESTARTING)).isZero();
    assertThat(storedRows()).isEqualTo(expected);
  }

  @Test
  void aJobStartedWithoutStateRefusesTheLeftoversOfAnEarlierJob() throws Exception {
    for (int d = 0; d < DEVICES; d++) {
      devices.add(UUID.randomUUID().toString());
    }
    JobHarness harness = new JobHarness(DB.get(), Map.of("sink.connect-timeout", "3s"));
    // An earlier job with this prefix was cancelled while its subtask 1 had a transaction
    // prepared for checkpoint 5: whether checkpoint 5 completed is in that job's checkpoints only.
    String leftover = harness.config.sinkTransactionPrefix() + ":5:1:" + ANOTHER_JOBS_NONCE;
    DB.get()
        .execute(
            "BEGIN; INSERT INTO readings VALUES (now(), '"
                + UUID.randomUUID()
                + "', 'seq', 1); PREPARE TRANSACTION '"
                + leftover
                + "'");

    StreamExecutionEnvironment env = harness.environment(20);
    CollectorJob.build(env, harness.config);
    JobClient refused = env.executeAsync("without -s");

    ExecutionException failure =
        org.junit.jupiter.api.Assertions.assertThrows(
            ExecutionException.class,
            () -> refused.getJobExecutionResult().get(60, TimeUnit.SECONDS));
    assertThat(ExceptionUtils.stringifyException(failure))
        .contains("left by an earlier job (e.g. " + leftover + ")")
        .contains("flink run -s <path>");
    assertThat(graph(refused.getJobID()).getStatusTimestamp(JobStatus.RESTARTING)).isZero();
    assertThat(
            DB.get()
                .queryLong("SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + leftover + "'"))
        .as("left as it was")
        .isOne();

    // Rolled back as the message says, the job starts.
    DB.get().execute("ROLLBACK PREPARED '" + leftover + "'");
    produce(harness, 0, 10);
    StreamExecutionEnvironment again = harness.environment(20);
    CollectorJob.build(again, harness.config);
    JobClient started = again.executeAsync("after the rollback");
    assertThat(JobHarness.await(Duration.ofSeconds(60), () -> storedRows() >= DEVICES * 10L))
        .isTrue();
    started.cancel().get();
  }

  @Test
  void aJobResumedWithAnotherPrefixRollsBackWhatItsJobLeftAndStoresEveryReadingOnce(
      @TempDir Path savepoints) throws Exception {
    for (int d = 0; d < DEVICES; d++) {
      devices.add(UUID.randomUUID().toString());
    }
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    String oldPrefix = harness.config.sinkTransactionPrefix();
    produce(harness, 0, READINGS_PER_DEVICE);
    long expected = (long) DEVICES * READINGS_PER_DEVICE;

    StreamExecutionEnvironment firstEnv = harness.environment(20);
    CollectorJob.build(firstEnv, harness.config);
    JobClient first = firstEnv.executeAsync("old prefix");
    assertThat(JobHarness.await(Duration.ofSeconds(60), () -> storedRows() >= expected / 4))
        .isTrue();
    String savepoint =
        first
            .stopWithSavepoint(false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
            .get();
    // What the old prefix left after the savepoint: a transaction of a later checkpoint of the
    // restored job itself (rolled back: the resumed job writes its rows again), and one of another
    // job that went on from the same savepoint and stopped without committing it (left alone and
    // reported: only that job's checkpoints know whether it is to be committed).
    String ownLeftover = oldPrefix + ":1000000:0:" + jobTagOf(oldPrefix) + "0000beef";
    String othersLeftover = oldPrefix + ":1000000:1:" + ANOTHER_JOBS_NONCE;
    for (String leftover : List.of(ownLeftover, othersLeftover)) {
      DB.get()
          .execute(
              "BEGIN; INSERT INTO readings VALUES (now(), '"
                  + devices.get(0)
                  + "', 'seq', -1); PREPARE TRANSACTION '"
                  + leftover
                  + "'");
    }

    CollectorJobConfig renamed =
        harness.config.with(Map.of("sink.transaction-prefix", oldPrefix + "-renamed"));
    StreamExecutionEnvironment secondEnv = harness.environment(20);
    Configuration resume = new Configuration();
    resume.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
    secondEnv.configure(resume);
    CollectorJob.build(secondEnv, renamed);
    JobClient second = secondEnv.executeAsync("new prefix");

    assertThat(JobHarness.await(Duration.ofSeconds(90), () -> storedRows() >= expected)).isTrue();
    long checkpoints = completedCheckpoints(second.getJobID());
    assertThat(
            JobHarness.await(
                Duration.ofSeconds(60),
                () -> completedCheckpoints(second.getJobID()) >= checkpoints + 3))
        .isTrue();
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE '" + oldPrefix + ":%'"))
        .as("prepared transactions of the old prefix: the other job's only")
        .isOne();
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + othersLeftover + "'"))
        .isOne();
    assertThat(storedRows()).isEqualTo(expected);
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM (SELECT device_id, value FROM readings WHERE key = 'seq'"
                        + " AND device_id IN ("
                        + deviceList()
                        + ") GROUP BY device_id, value HAVING count(*) > 1) duplicates"))
        .as("duplicates")
        .isZero();
    second.cancel().get();
    DB.get().execute("ROLLBACK PREPARED '" + othersLeftover + "'");
  }

  private static AccessExecutionGraph graph(JobID job) throws Exception {
    return FLINK.miniCluster().getExecutionGraph(job).get();
  }

  private static long completedCheckpoints(JobID job) throws Exception {
    return FLINK.completedCheckpoints(job);
  }

  private void produce(JobHarness harness, int from, int to) {
    SequenceReadings.produce(harness, devices, BASE, from, to);
  }

  private long storedRows() throws Exception {
    return SequenceReadings.stored(DB.get(), devices);
  }

  private String deviceList() {
    return SequenceReadings.inList(devices);
  }
}
