package io.placebrain.flink.connector.postgres.copy.writer;

import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.builder;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.connections;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.flink.connector.postgres.copy.ConnectionAction;
import io.placebrain.flink.connector.postgres.copy.ConnectionFactory;
import io.placebrain.flink.connector.postgres.copy.CopySinkSettings;
import io.placebrain.flink.connector.postgres.copy.CopySinkTables;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport;
import io.placebrain.flink.connector.postgres.copy.TestRow;
import io.placebrain.flink.connector.postgres.copy.TestRowEncoder;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import io.placebrain.flink.connector.postgres.copy.internal.TransactionIds;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What a writer does before it writes: recover leftovers, then the startup action. */
class CopySinkWriterStartupTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private final TestProcessingTimeService timers = new TestProcessingTimeService();

  @BeforeAll
  static void createTable() throws Exception {
    DB.get()
        .execute(
            "CREATE TABLE measurements (time timestamptz, device_id uuid, key text, value float8)");
  }

  @Test
  void leftoversAreRolledBackBeforeTheStartupActionWaitsForTheirLocks() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    // The subtask prepared checkpoint 3's transaction, then the job failed before checkpoint 3
    // completed: the leftover keeps its lock on measurements until it is rolled back.
    String leftover = TransactionIds.name(settings.transactionIdPrefix(), 3, 0);
    DB.get()
        .execute(
            "BEGIN; INSERT INTO measurements VALUES (now(), gen_random_uuid(), 'leftover', 1);"
                + " PREPARE TRANSACTION '"
                + leftover
                + "'");
    // Like a schema migration that has to change the table; it waits at most 10 s for the lock.
    ConnectionAction migration =
        connection -> {
          connection.setAutoCommit(false);
          try (Statement statement = connection.createStatement()) {
            statement.execute("SET LOCAL lock_timeout = '10s'");
            statement.execute("LOCK TABLE measurements IN ACCESS EXCLUSIVE MODE");
            connection.commit();
          } finally {
            connection.setAutoCommit(true);
          }
        };

    CopySinkWriter<TestRow> restarted =
        assertTimeoutPreemptively(
            Duration.ofSeconds(5),
            () ->
                new CopySinkWriter<>(
                    settings,
                    new TestRowEncoder(),
                    connections(DB.get()),
                    migration,
                    new WriterContext(
                        0,
                        1,
                        OptionalLong.of(2),
                        timers,
                        UnregisteredMetricsGroup.createSinkWriterMetricGroup())));
    restarted.close();

    assertThat(DB.get().queryLong("SELECT count(*) FROM pg_prepared_xacts")).isZero();
    assertThat(DB.get().queryLong("SELECT count(*) FROM measurements")).isZero();
  }

  @Test
  void aRestoreWithAnotherPrefixRollsBackWhatTheOldPrefixLeftAfterTheCheckpoint() throws Exception {
    CopySinkSettings before =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("before-" + suffix())
                .build());
    CopySinkSettings after =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("after-" + suffix())
                .build());
    // Subtask 1 of 2 under the old prefix: checkpoint 1 completes (its transaction not yet
    // committed), checkpoint 2's transaction is prepared but the checkpoint never completes.
    String ofCheckpoint1;
    String ofCheckpoint2;
    List<CopyWriterState> state;
    try (CopySinkWriter<TestRow> old = writer(before, 1, 2, OptionalLong.empty(), Set.of())) {
      old.write(row(1), null);
      ofCheckpoint1 = old.prepareCommit().iterator().next().transactionId();
      state = old.snapshotState(1);
      old.write(row(2), null);
      ofCheckpoint2 = old.prepareCommit().iterator().next().transactionId();
    }
    Set<String> restoredPrefixes = new HashSet<>();
    state.forEach(entry -> restoredPrefixes.add(entry.transactionPrefix()));

    // Restored from checkpoint 1 with the new prefix, at parallelism 1: subtask 0 got the state.
    writer(after, 0, 1, OptionalLong.of(1), restoredPrefixes).close();

    assertThat(preparedNames()).contains(ofCheckpoint1).doesNotContain(ofCheckpoint2);
    DB.get().execute("ROLLBACK PREPARED '" + ofCheckpoint1 + "'");
  }

  @Test
  void aRestoreWithAnotherPrefixRollsBackOnlyTheRestoredJobsTransactionsOfTheOldPrefix()
      throws Exception {
    String restoredJob = "0123456789abcdef0123456789abcdef";
    String laterJob = "fedcba9876543210fedcba9876543210";
    String newJob = "00112233445566778899aabbccddeeff";
    CopySinkSettings before =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("shared-" + suffix())
                .build());
    CopySinkSettings after =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("moved-" + suffix())
                .build());
    String ofRestoredJob;
    List<CopyWriterState> state;
    try (CopySinkWriter<TestRow> old =
        writer(before, 0, 1, OptionalLong.empty(), Map.of(), restoredJob)) {
      state = old.snapshotState(1);
      old.write(row(1), null);
      ofRestoredJob = old.prepareCommit().iterator().next().transactionId();
    }
    // Later another job used the old prefix and was cancelled with its checkpoint 7's
    // transaction not yet committed: only that job's checkpoints know it is to be committed.
    String ofLaterJob;
    try (CopySinkWriter<TestRow> later =
        writer(before, 0, 1, OptionalLong.of(6), Map.of(), laterJob)) {
      later.write(row(2), null);
      ofLaterJob = later.prepareCommit().iterator().next().transactionId();
    }

    WriterContext restoring = context(0, 1, OptionalLong.of(1), newJob).withRestoredState(state);
    assertThat(restoring.restoredPrefixes())
        .containsEntry(before.transactionIdPrefix(), Set.of(TransactionIds.jobTag(restoredJob)));
    try (CopySinkWriter<TestRow> restored =
        new CopySinkWriter<>(after, new TestRowEncoder(), connections(DB.get()), null, restoring)) {
      // Left, and reported: nothing here knows whether it belongs to a completed checkpoint.
      assertThat(restored.abandonedPreparedTransactions()).isOne();
    }

    assertThat(preparedNames()).contains(ofLaterJob).doesNotContain(ofRestoredJob);
    DB.get().execute("ROLLBACK PREPARED '" + ofLaterJob + "'");
  }

  @Test
  void aStartReportsPreparedTransactionsOfAPrefixNoJobWritesWith() throws Exception {
    CopySinkSettings abandoned =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("abandoned-" + suffix())
                .build());
    CopySinkSettings current =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("current-" + suffix())
                .build());
    String left;
    try (CopySinkWriter<TestRow> old = writer(abandoned, 0, 1, OptionalLong.empty(), Set.of())) {
      old.write(row(1), null);
      left = old.prepareCommit().iterator().next().transactionId();
    }
    try (CopySinkWriter<TestRow> started = writer(current, 0, 1, OptionalLong.empty(), Set.of())) {
      assertThat(started.abandonedPreparedTransactions()).isOne();
      // Reported, not resolved: nothing here knows whether it belongs to a completed checkpoint.
      assertThat(preparedNames()).contains(left);
    }
    DB.get().execute("ROLLBACK PREPARED '" + left + "'");
  }

  @Test
  void theOldPrefixIsLeftAloneWhileAJobStillWritesWithIt() throws Exception {
    CopySinkSettings before =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("running-" + suffix())
                .build());
    CopySinkSettings after =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("copy-" + suffix())
                .build());
    try (CopySinkWriter<TestRow> running = writer(before, 0, 1, OptionalLong.empty(), Set.of())) {
      running.write(row(1), null);
      String awaitingCommit = running.prepareCommit().iterator().next().transactionId();

      // A copy started from a savepoint of the running job, with its own prefix.
      writer(after, 0, 1, OptionalLong.of(0), Set.of(before.transactionIdPrefix())).close();

      assertThat(preparedNames()).contains(awaitingCommit);
      DB.get().execute("ROLLBACK PREPARED '" + awaitingCommit + "'");
    }
  }

  @Test
  void aStartWithoutStateRefusesTheLeftoversOfAnotherJob() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("cancelled-" + suffix())
                .build());
    String cancelledJob = "aaaaaaaa000000000000000000000001";
    String newJob = "bbbbbbbb000000000000000000000002";
    // The cancelled job's subtask 1 of 2 prepared a transaction; whether its checkpoint completed
    // is recorded only in that job's checkpoints.
    String leftover;
    try (CopySinkWriter<TestRow> cancelled =
        writer(settings, 1, 2, OptionalLong.of(6), Map.of(), cancelledJob)) {
      cancelled.write(row(1), null);
      leftover = cancelled.prepareCommit().iterator().next().transactionId();
    }

    // flink run without -s, at parallelism 1: subtask 0 is responsible for the former subtask 1.
    assertThatThrownBy(() -> writer(settings, 0, 1, OptionalLong.empty(), Map.of(), newJob))
        .isInstanceOf(SuppressRestartsException.class)
        .rootCause()
        .hasMessageContaining("transaction prefix " + settings.transactionIdPrefix() + " has 1")
        .hasMessageContaining(leftover)
        .hasMessageContaining("flink run -s")
        .hasMessageContaining("ROLLBACK PREPARED");
    assertThat(preparedNames()).contains(leftover);

    // Resumed from the cancelled job's checkpoint 7 instead, the leftover is resolved exactly: it
    // belongs to checkpoint 7 (label 7), so it stays for the committer, which has it in its state.
    writer(settings, 0, 1, OptionalLong.of(7), Map.of(), newJob).close();
    assertThat(preparedNames()).contains(leftover);
    DB.get().execute("ROLLBACK PREPARED '" + leftover + "'");
  }

  @Test
  void aStartWithoutStateRefusesWhenAnotherJobCommittedUnderThePrefix() throws Exception {
    DB.get()
        .execute(
            "CREATE TABLE IF NOT EXISTS sink_progress (prefix text, subtask int, job_tag text,"
                + " checkpoint bigint, committed_at timestamptz DEFAULT now(),"
                + " PRIMARY KEY (prefix, subtask))");
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("progress-" + suffix())
                .setProgressTable("sink_progress")
                .build());
    String earlier = "dddddddd000000000000000000000004";
    String later = "eeeeeeee000000000000000000000005";
    // The earlier job committed a checkpoint, then was cancelled: nothing is left prepared. The
    // committer records the commit.
    try (CopySinkWriter<TestRow> first =
        writer(settings, 0, 1, OptionalLong.empty(), Map.of(), earlier)) {
      first.write(row(1), null);
      CopySinkTestSupport.commit(DB.get(), settings, first.prepareCommit());
    }
    assertThat(preparedNames()).isEmpty();
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM sink_progress WHERE prefix = '"
                        + settings.transactionIdPrefix()
                        + "' AND job_tag = '"
                        + TransactionIds.jobTag(earlier)
                        + "'"))
        .isOne();

    // A job started again under the same job id (application mode with a fixed cluster id) is
    // another job as much: its first attempt refuses too.
    assertThatThrownBy(() -> writer(settings, 0, 1, OptionalLong.empty(), Map.of(), earlier))
        .isInstanceOf(SuppressRestartsException.class);
    // Another job without state: where its sources start need not be where the rows end.
    assertThatThrownBy(() -> writer(settings, 0, 1, OptionalLong.empty(), Map.of(), later))
        .isInstanceOf(SuppressRestartsException.class)
        .rootCause()
        .hasMessageContaining(
            "rows were already committed under transaction prefix "
                + settings.transactionIdPrefix()
                + " by another job (job "
                + TransactionIds.jobTag(earlier))
        .hasMessageContaining("flink run -s");
    // Resumed from a checkpoint instead, it starts.
    writer(settings, 0, 1, OptionalLong.of(3), Map.of(), later).close();
  }

  @Test
  void aStartWithoutStateRollsBackTheLeftoversOfItsOwnJob() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("own-" + suffix())
                .build());
    String job = "cccccccc000000000000000000000003";
    // The job failed before its first checkpoint completed; Flink restarts it without state.
    String leftover;
    try (CopySinkWriter<TestRow> first =
        writer(settings, 0, 1, OptionalLong.empty(), Map.of(), job)) {
      first.write(row(1), null);
      leftover = first.prepareCommit().iterator().next().transactionId();
    }

    // Under the same job id but as a first attempt it is a job started again, whose leftover may
    // belong to a completed checkpoint: refused, and the leftover kept.
    assertThatThrownBy(() -> writer(settings, 0, 1, OptionalLong.empty(), Map.of(), job))
        .isInstanceOf(SuppressRestartsException.class);
    assertThat(preparedNames()).contains(leftover);

    writer(settings, 0, 1, OptionalLong.empty(), Map.of(), job, 1).close();

    assertThat(preparedNames()).doesNotContain(leftover);
  }

  @Test
  void anIntermediateSavepointDoesNotStallTheNextCheckpoint() throws Exception {
    DB.get().execute(CopySinkTables.progressDdl("sink_progress"));
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix("savepoint-" + suffix())
                .setProgressTable("sink_progress")
                .build());
    try (CopySinkWriter<TestRow> writer =
        writer(
            settings, 0, 1, OptionalLong.empty(), Map.of(), "ffffffff000000000000000000000006")) {
      // Checkpoint 1 is an intermediate savepoint: Flink never hands its transaction to the
      // committer, so it stays prepared until a later checkpoint's completion commits it.
      writer.write(row(1), null);
      Collection<CopyCommittable> ofSavepoint = writer.prepareCommit();
      writer.snapshotState(1);
      writer.write(row(2), null);
      // Checkpoint 2 prepares without waiting for the savepoint's transaction.
      Collection<CopyCommittable> ofCheckpoint =
          assertTimeoutPreemptively(Duration.ofSeconds(20), writer::prepareCommit);
      writer.snapshotState(2);
      List<CopyCommittable> both = new ArrayList<>(ofSavepoint);
      both.addAll(ofCheckpoint);
      CopySinkTestSupport.commit(DB.get(), settings, both);
    }
    assertThat(DB.get().queryLong("SELECT count(*) FROM measurements WHERE value IN (1, 2)"))
        .isEqualTo(2);
  }

  @Test
  void aFailedCheckOfPreparedTransactionsClosesTheConnection() {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    AtomicBoolean closed = new AtomicBoolean();
    ConnectionFactory withoutPreparedTransactions = () -> serverWithoutPreparedTransactions(closed);

    assertThatThrownBy(
            () ->
                new CopySinkWriter<>(
                    settings,
                    new TestRowEncoder(),
                    withoutPreparedTransactions,
                    null,
                    new WriterContext(
                        0,
                        1,
                        OptionalLong.empty(),
                        timers,
                        UnregisteredMetricsGroup.createSinkWriterMetricGroup())))
        // Only a reconfigured, restarted server helps: the job fails once instead of looping.
        .isInstanceOf(SuppressRestartsException.class)
        .rootCause()
        .hasMessageContaining("max_prepared_transactions = 0");
    assertThat(closed).as("connection closed").isTrue();
  }

  private CopySinkWriter<TestRow> writer(
      CopySinkSettings settings,
      int subtask,
      int parallelism,
      OptionalLong restored,
      Set<String> restoredPrefixes)
      throws Exception {
    Map<String, Set<String>> untagged = new HashMap<>();
    restoredPrefixes.forEach(prefix -> untagged.put(prefix, Set.of()));
    return writer(settings, subtask, parallelism, restored, untagged, null);
  }

  private CopySinkWriter<TestRow> writer(
      CopySinkSettings settings,
      int subtask,
      int parallelism,
      OptionalLong restored,
      Map<String, Set<String>> restoredPrefixes,
      String jobId)
      throws Exception {
    return writer(settings, subtask, parallelism, restored, restoredPrefixes, jobId, 0);
  }

  private CopySinkWriter<TestRow> writer(
      CopySinkSettings settings,
      int subtask,
      int parallelism,
      OptionalLong restored,
      Map<String, Set<String>> restoredPrefixes,
      String jobId,
      int attempt)
      throws Exception {
    return new CopySinkWriter<>(
        settings,
        new TestRowEncoder(),
        connections(DB.get()),
        null,
        new WriterContext(
            subtask,
            parallelism,
            attempt,
            restored,
            timers,
            UnregisteredMetricsGroup.createSinkWriterMetricGroup(),
            jobId,
            restoredPrefixes));
  }

  private WriterContext context(int subtask, int parallelism, OptionalLong restored, String jobId) {
    return new WriterContext(
        subtask,
        parallelism,
        0,
        restored,
        timers,
        UnregisteredMetricsGroup.createSinkWriterMetricGroup(),
        jobId,
        Map.of());
  }

  private static String suffix() {
    return Long.toHexString(System.nanoTime());
  }

  private static List<String> preparedNames() throws Exception {
    List<String> names = new ArrayList<>();
    try (Connection connection = DB.get().connect();
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()")) {
      while (rows.next()) {
        names.add(rows.getString(1));
      }
    }
    return names;
  }

  /** A connection to a server with max_prepared_transactions = 0 that records being closed. */
  private static Connection serverWithoutPreparedTransactions(AtomicBoolean closed) {
    ResultSet rows =
        proxy(
            ResultSet.class,
            (method, args) ->
                switch (method) {
                  case "next" -> true;
                  case "getString" -> "0";
                  default -> null;
                });
    Statement statement =
        proxy(Statement.class, (method, args) -> method.equals("executeQuery") ? rows : null);
    return proxy(
        Connection.class,
        (method, args) ->
            switch (method) {
              case "createStatement" -> statement;
              case "close" -> {
                closed.set(true);
                yield null;
              }
              case "getAutoCommit", "isClosed" -> Boolean.FALSE;
              default -> null;
            });
  }

  private interface Answer {
    Object answer(String method, Object[] args);
  }

  @SuppressWarnings("unchecked")
  private static <T> T proxy(Class<T> type, Answer answer) {
    return (T)
        Proxy.newProxyInstance(
            type.getClassLoader(),
            new Class<?>[] {type},
            (self, method, args) -> answer.answer(method.getName(), args));
  }
}
