package io.placebrain.flink.connector.postgres.copy.writer;

import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.builder;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.connections;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.row;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.writer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.postgres.TestDatabase;
import io.placebrain.flink.connector.postgres.copy.AfterCommitAction;
import io.placebrain.flink.connector.postgres.copy.AfterCommitStatement;
import io.placebrain.flink.connector.postgres.copy.BinaryCopyBuffer;
import io.placebrain.flink.connector.postgres.copy.CopyRowEncoder;
import io.placebrain.flink.connector.postgres.copy.CopySinkSettings;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import io.placebrain.flink.connector.postgres.copy.StatementParameter;
import io.placebrain.flink.connector.postgres.copy.TestRow;
import io.placebrain.flink.connector.postgres.copy.TestRowEncoder;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The writer's checkpoint cycle driven by hand against a real PostgreSQL. */
class CopySinkWriterTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private final TestProcessingTimeService timers = new TestProcessingTimeService();

  @BeforeAll
  static void createSchema() throws Exception {
    CopySinkTestSupport.createTables(DB.get());
  }

  @BeforeEach
  void emptyTable() throws Exception {
    // DELETE, not TRUNCATE: on TimescaleDB a truncate drops the chunks created ahead of use.
    DB.get().execute("DELETE FROM measurements");
    for (String name : preparedNames()) {
      DB.get().execute("ROLLBACK PREPARED '" + name + "'");
    }
  }

  @Test
  void exactlyOnceRowsBecomeVisibleOnlyWhenTheCheckpointCommits() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    try (CopySinkWriter<?> writer = writeAll(settings, 0, OptionalLong.empty(), 0, 5)) {
      writer.flush(false);
      assertThat(count()).as("sent but not committed").isZero();

      Collection<CopyCommittable> committables = writer.prepareCommit();
      assertThat(writer.snapshotState(1))
          .containsExactly(
              new CopyWriterState(
                  settings.transactionIdPrefix(),
                  io.placebrain.flink.connector.postgres.copy.internal.TransactionIds.UNKNOWN_JOB));

      assertThat(committables).singleElement().extracting(CopyCommittable::rows).isEqualTo(5L);
      assertThat(preparedNames()).containsExactly(committables.iterator().next().transactionId());
      assertThat(count()).as("prepared but not committed").isZero();

      assertThat(CopySinkTestSupport.commit(DB.get(), settings, committables))
          .containsExactly("committed");
      assertThat(count()).isEqualTo(5);
      assertThat(preparedNames()).isEmpty();
      assertThat(DB.get().queryLong("SELECT sum(value)::bigint FROM measurements")).isEqualTo(10);
    }
  }

  @Test
  void checkpointWithoutRowsPreparesNothing() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    try (CopySinkWriter<?> writer =
        writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers)) {
      writer.flush(false);
      assertThat(writer.prepareCommit()).isEmpty();
      assertThat(preparedNames()).isEmpty();
    }
  }

  @Test
  void fullBufferIsSentWhileWritingSoMemoryStaysBounded() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.AT_LEAST_ONCE).setMaxBufferedRows(3).build());
    try (CopySinkWriter<?> writer = writeAll(settings, 0, OptionalLong.empty(), 0, 7)) {
      assertThat(writer.bufferedRows()).isEqualTo(1);
      assertThat(count()).isEqualTo(6);
    }
  }

  @Test
  void flushTimerSendsABufferThatIsNotFull() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.AT_LEAST_ONCE)
                .setFlushInterval(java.time.Duration.ofSeconds(2))
                .build());
    try (CopySinkWriter<?> writer = writeAll(settings, 0, OptionalLong.empty(), 0, 4)) {
      assertThat(count()).isZero();
      timers.advance(2_500);
      assertThat(writer.bufferedRows()).isZero();
      assertThat(count()).isEqualTo(4);
      assertThat(timers.getNumActiveTimers()).as("the timer re-arms itself").isEqualTo(1);
    }
  }

  @Test
  void atLeastOnceCommitsEachBatchAndHasNoCommittables() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.AT_LEAST_ONCE).build());
    try (CopySinkWriter<?> writer = writeAll(settings, 0, OptionalLong.empty(), 0, 3)) {
      writer.flush(false);
      assertThat(count()).isEqualTo(3);
      assertThat(writer.prepareCommit()).isEmpty();
    }
  }

  @Test
  void recoveryRollsBackTransactionsPreparedAfterTheRestoredCheckpoint() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    // Checkpoint 1 completes with rows 0..2; rows 3..4 are prepared for checkpoint 2, which never
    // completes because the job fails.
    List<CopyCommittable> ofCheckpoint1;
    List<CopyCommittable> ofCheckpoint2;
    try (CopySinkWriter<?> writer = writeAll(settings, 1, OptionalLong.empty(), 0, 3)) {
      ofCheckpoint1 = new ArrayList<>(writer.prepareCommit());
      writer.snapshotState(1);
      writeMore(writer, 3, 5);
      ofCheckpoint2 = new ArrayList<>(writer.prepareCommit());
    }
    assertThat(preparedNames()).hasSize(2);

    // The subtask restarts from checkpoint 1 and rolls back what came after it...
    try (CopySinkWriter<?> restored =
        writer(settings, connections(DB.get()), 1, OptionalLong.of(1), timers)) {
      assertThat(preparedNames())
          .containsExactly(ofCheckpoint1.get(0).transactionId())
          .doesNotContain(ofCheckpoint2.get(0).transactionId());
    }
    // ... and the committer commits checkpoint 1's transaction from the restored state.
    assertThat(CopySinkTestSupport.commit(DB.get(), settings, ofCheckpoint1))
        .containsExactly("committed");
    assertThat(count()).isEqualTo(3);
    assertThat(preparedNames()).isEmpty();
  }

  @Test
  void startWithoutStateRollsBackEveryLeftoverOfThisSink() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    try (CopySinkWriter<?> writer = writeAll(settings, 1, OptionalLong.empty(), 0, 2)) {
      writer.prepareCommit();
    }
    DB.get()
        .execute(
            "BEGIN; INSERT INTO measurements VALUES (now(), gen_random_uuid(), 'x', 1);"
                + " PREPARE TRANSACTION 'someone-else:1:0:0'");
    assertThat(preparedNames()).hasSize(2);

    // The same job's next attempt: Flink restarts a job that failed before its first
    // checkpoint without state.
    try (CopySinkWriter<?> fresh =
        new CopySinkWriter<>(
            settings,
            new TestRowEncoder(),
            connections(DB.get()),
            null,
            new WriterContext(
                    1,
                    2,
                    OptionalLong.empty(),
                    timers,
                    UnregisteredMetricsGroup.createSinkWriterMetricGroup())
                .withAttemptNumber(1))) {
      assertThat(preparedNames()).containsExactly("someone-else:1:0:0");
    } finally {
      DB.get().execute("ROLLBACK PREPARED 'someone-else:1:0:0'");
    }
  }

  @Test
  void onlySubtaskZeroCleansUp() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    try (CopySinkWriter<?> writer = writeAll(settings, 0, OptionalLong.empty(), 0, 2)) {
      writer.prepareCommit();
    }
    try (CopySinkWriter<?> other =
        writer(settings, connections(DB.get()), 1, OptionalLong.empty(), timers)) {
      assertThat(preparedNames()).hasSize(1);
    }
  }

  @Test
  void firstBatchOfATransactionSurvivesALostConnection() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    try (CopySinkWriter<?> writer = writeAll(settings, 0, OptionalLong.empty(), 0, 3)) {
      terminateSinkConnections();
      writer.flush(false);
      Collection<CopyCommittable> committables = writer.prepareCommit();
      CopySinkTestSupport.commit(DB.get(), settings, committables);
      assertThat(count()).isEqualTo(3);
    }
  }

  @Test
  void lostConnectionWithRowsInTheTransactionFailsTheTask() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    try (CopySinkWriter<?> writer = writeAll(settings, 0, OptionalLong.empty(), 0, 3)) {
      writer.flush(false);
      writeMore(writer, 3, 6);
      terminateSinkConnections();
      assertThatThrownBy(() -> writer.flush(false))
          .hasMessageContaining("3 rows of this checkpoint already sent");
    }
    assertThat(count()).isZero();
    assertThat(preparedNames()).isEmpty();
  }

  @Test
  void deviceDeletionRunsAfterTheRowsBeforeItAreCommitted() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build());
    try (CopySinkWriter<TestRow> writer =
        (CopySinkWriter<TestRow>) writeAll(settings, 0, OptionalLong.empty(), 0, 3)) {
      writer.write(TestRow.deletionOf(CopySinkTestSupport.DEVICE), null);
      Collection<CopyCommittable> committables = writer.prepareCommit();

      assertThat(committables)
          .singleElement()
          .satisfies(c -> assertThat(c.afterCommit()).hasSize(3));
      CopySinkTestSupport.commit(DB.get(), settings, committables);
      assertThat(count()).as("rows committed, then deleted").isZero();

      // A checkpoint with only the deletion still carries it to the committer.
      writer.write(TestRow.deletionOf(CopySinkTestSupport.DEVICE), null);
      Collection<CopyCommittable> statementsOnly = writer.prepareCommit();
      assertThat(statementsOnly)
          .singleElement()
          .satisfies(c -> assertThat(c.transactionId()).isNull());
      assertThat(CopySinkTestSupport.commit(DB.get(), settings, statementsOnly))
          .containsExactly("committed");
    }
  }

  @Test
  void anActionOfAnUndeclaredStatementFailsTheJobWithoutRestarts() throws Exception {
    AfterCommitStatement undeclared =
        AfterCommitStatement.of("not_declared", "DELETE FROM measurements WHERE device_id = ?");
    CopyRowEncoder<TestRow> encoder =
        new CopyRowEncoder<>() {
          @Override
          public List<String> columns() {
            return new TestRowEncoder().columns();
          }

          @Override
          public void encode(TestRow element, BinaryCopyBuffer row) {
            new TestRowEncoder().encode(element, row);
          }

          @Override
          public List<AfterCommitAction> afterCommitActions(TestRow row) {
            return row.deletion
                ? List.of(undeclared.bind(StatementParameter.uuid(row.device)))
                : null;
          }
        };
    CopySinkSettings settings =
        CopySinkSettings.of(
            PostgresCopySink.<TestRow>builder()
                .setConnection(DB.get().jdbcUrl(), DB.get().user(), DB.get().password())
                .setTable("measurements")
                .setEncoder(encoder)
                .setTransactionIdPrefix("undeclared")
                .build());
    try (CopySinkWriter<TestRow> writer =
        new CopySinkWriter<>(
            settings,
            encoder,
            connections(DB.get()),
            null,
            new WriterContext(
                0,
                1,
                OptionalLong.empty(),
                timers,
                UnregisteredMetricsGroup.createSinkWriterMetricGroup()))) {
      assertThatThrownBy(() -> writer.write(TestRow.deletionOf(CopySinkTestSupport.DEVICE), null))
          .isInstanceOf(SuppressRestartsException.class)
          .hasStackTraceContaining("'not_declared', which its afterCommitStatements() does not");
    }
  }

  @Test
  void aParameterValueTheDatabaseCannotStoreFailsTheJobWithoutRestartsBeforeTheCheckpoint()
      throws Exception {
    AfterCommitStatement byKey =
        AfterCommitStatement.of("delete_key", "DELETE FROM measurements WHERE key = ?");
    CopyRowEncoder<TestRow> encoder =
        new CopyRowEncoder<>() {
          @Override
          public List<String> columns() {
            return new TestRowEncoder().columns();
          }

          @Override
          public void encode(TestRow element, BinaryCopyBuffer row) {
            new TestRowEncoder().encode(element, row);
          }

          @Override
          public List<AfterCommitStatement> afterCommitStatements() {
            return List.of(byKey);
          }

          @Override
          public List<AfterCommitAction> afterCommitActions(TestRow row) {
            return List.of(byKey.bind(StatementParameter.text(row.key)));
          }
        };
    CopySinkSettings settings =
        CopySinkSettings.of(
            PostgresCopySink.<TestRow>builder()
                .setConnection(DB.get().jdbcUrl(), DB.get().user(), DB.get().password())
                .setTable("measurements")
                .setEncoder(encoder)
                .setTransactionIdPrefix("nul")
                .build());
    try (CopySinkWriter<TestRow> writer =
        new CopySinkWriter<>(
            settings,
            encoder,
            connections(DB.get()),
            null,
            new WriterContext(
                0,
                1,
                OptionalLong.empty(),
                timers,
                UnregisteredMetricsGroup.createSinkWriterMetricGroup()))) {
      assertThatThrownBy(
              () ->
                  writer.write(
                      new TestRow(0, CopySinkTestSupport.DEVICE, "from\u0000kafka", 1), null))
          .isInstanceOf(SuppressRestartsException.class)
          .hasStackTraceContaining("NUL character")
          .hasStackTraceContaining("from");
      assertThat(writer.prepareCommit()).as("nothing enters the checkpoint").isEmpty();
    }
  }

  @Test
  void atLeastOnceDeletionWaitsForTheCheckpointLikeExactlyOnce() throws Exception {
    // Alerts of the device emitted just before its marker may still sit in the alerts sink's
    // batch, which is flushed at the checkpoint: a delete run on arrival would precede them.
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.AT_LEAST_ONCE).build());
    try (CopySinkWriter<TestRow> writer =
        (CopySinkWriter<TestRow>) writeAll(settings, 0, OptionalLong.empty(), 0, 3)) {
      writer.write(TestRow.deletionOf(CopySinkTestSupport.DEVICE), null);
      writer.flush(false);
      assertThat(count()).as("rows committed, the deletion not run yet").isEqualTo(3);

      Collection<CopyCommittable> committables = writer.prepareCommit();
      assertThat(committables)
          .singleElement()
          .satisfies(
              c -> {
                assertThat(c.transactionId()).isNull();
                assertThat(c.afterCommit()).hasSize(3);
              });
      assertThat(count()).isEqualTo(3);
      assertThat(CopySinkTestSupport.commit(DB.get(), settings, committables))
          .containsExactly("committed");
      assertThat(count()).as("deleted once the checkpoint completed").isZero();
    }
  }

  @Test
  void missingTableFailsWithTheDatabaseMessage() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.AT_LEAST_ONCE).setTable("no_such_table").build());
    try (CopySinkWriter<?> writer = writeAll(settings, 0, OptionalLong.empty(), 0, 1)) {
      assertThatThrownBy(() -> writer.flush(false))
          .hasMessageContaining("no_such_table")
          .hasMessageContaining("42P01");
    }
  }

  private CopySinkWriter<TestRow> writeAll(
      CopySinkSettings settings, int subtask, OptionalLong restored, int from, int to)
      throws Exception {
    CopySinkWriter<TestRow> writer =
        writer(settings, connections(DB.get()), subtask, restored, timers);
    writeMore(writer, from, to);
    return writer;
  }

  @SuppressWarnings("unchecked")
  private static void writeMore(CopySinkWriter<?> writer, int from, int to) throws Exception {
    for (int i = from; i < to; i++) {
      ((CopySinkWriter<TestRow>) writer).write(row(i), null);
    }
  }

  private static long count() throws Exception {
    return DB.get().queryLong("SELECT count(*) FROM measurements");
  }

  private static List<String> preparedNames() throws Exception {
    List<String> names = new ArrayList<>();
    TestDatabase db = DB.get();
    try (Connection connection = db.connect();
        var statement = connection.createStatement();
        var rows =
            statement.executeQuery(
                "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared")) {
      while (rows.next()) {
        names.add(rows.getString(1));
      }
    }
    return names;
  }

  private static void terminateSinkConnections() throws Exception {
    DB.get()
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                + " WHERE application_name = 'flink-postgres-copy' AND datname = current_database()");
    Thread.sleep(100);
  }
}
