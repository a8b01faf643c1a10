package io.placebrain.flink.connector.postgres.copy.writer;

import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.builder;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.connections;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.flink.connector.postgres.copy.ConnectionFactory;
import io.placebrain.flink.connector.postgres.copy.CopySinkSettings;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport;
import io.placebrain.flink.connector.postgres.copy.TestRow;
import io.placebrain.flink.connector.postgres.copy.TestRowEncoder;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Each (transaction prefix, subtask) belongs to one job's writer at a time. */
class CopySinkWriterOwnershipTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static final String FIRST_JOB = "0123456789abcdef0123456789abcdef";
  private static final String SECOND_JOB = "fedcba9876543210fedcba9876543210";

  private final TestProcessingTimeService timers = new TestProcessingTimeService();

  @BeforeAll
  static void createTable() throws Exception {
    DB.get()
        .execute(
            "CREATE TABLE measurements (time timestamptz, device_id uuid, key text, value float8)");
  }

  @BeforeEach
  void clean() throws Exception {
    DB.get().execute("DELETE FROM measurements");
  }

  @Test
  void aSecondJobWithTheSamePrefixFailsWithoutRestartsAndLeavesTheFirstJobsTransactions()
      throws Exception {
    CopySinkSettings settings = settings(Duration.ofSeconds(1));
    try (CopySinkWriter<TestRow> first = writer(settings, FIRST_JOB, 0, 1, OptionalLong.empty())) {
      first.write(row(1), null);
      first.write(row(2), null);
      Collection<CopyCommittable> awaitingCommit = first.prepareCommit();

      // Without state a writer would roll back every transaction of its prefix and subtask.
      assertThatThrownBy(() -> writer(settings, SECOND_JOB, 0, 1, OptionalLong.empty()))
          .isInstanceOf(SuppressRestartsException.class)
          .rootCause()
          .hasMessageContaining(
              "another job is writing with transaction prefix "
                  + settings.transactionIdPrefix()
                  + " (subtask 0) — give each job its own sink.transaction-prefix")
          .hasMessageContaining("pg_terminate_backend");

      assertThat(preparedCount()).as("the first job's transaction is still prepared").isOne();
      CopySinkTestSupport.commit(DB.get(), settings, awaitingCommit);
      first.write(row(3), null);
      CopySinkTestSupport.commit(DB.get(), settings, first.prepareCommit());
    }
    assertThat(DB.get().queryLong("SELECT count(*) FROM measurements")).isEqualTo(3);
  }

  @Test
  void aRestartedSubtaskEndsTheLingeringSessionOfItsEarlierAttempt() throws Exception {
    CopySinkSettings settings = settings(Duration.ofSeconds(30));
    // The earlier attempt's connection is never closed, as when its TaskManager vanished.
    CopySinkWriter<TestRow> earlier = writer(settings, FIRST_JOB, 0, 1, OptionalLong.empty(), 0);
    try {
      CopySinkWriter<TestRow> restarted =
          assertTimeoutPreemptively(
              Duration.ofSeconds(10),
              () -> writer(settings, FIRST_JOB, 0, 1, OptionalLong.of(1), 1));
      restarted.write(row(1), null);
      CopySinkTestSupport.commit(DB.get(), settings, restarted.prepareCommit());
      restarted.close();
    } finally {
      earlier.close();
    }
    assertThat(DB.get().queryLong("SELECT count(*) FROM measurements")).isOne();
  }

  @Test
  void aZombieOfAnEarlierAttemptNeverEndsTheSessionOfTheAttemptThatReplacedIt() throws Exception {
    CopySinkSettings settings = settings(Duration.ofSeconds(1));
    try (CopySinkWriter<TestRow> current =
        writer(settings, FIRST_JOB, 0, 1, OptionalLong.of(1), 2)) {
      current.write(row(1), null);

      // The attempt before it, cut off from the cluster but alive, reconnects to the database.
      assertThatThrownBy(() -> writer(settings, FIRST_JOB, 0, 1, OptionalLong.of(1), 1))
          .isInstanceOf(IOException.class)
          .rootCause()
          .hasMessageContaining("another job is writing with transaction prefix");

      // The current attempt's session, with the row it sent, survived.
      current.write(row(2), null);
      CopySinkTestSupport.commit(DB.get(), settings, current.prepareCommit());
    }
    assertThat(DB.get().queryLong("SELECT count(*) FROM measurements")).isEqualTo(2);
  }

  @Test
  void theServerEndsAnOwnerSessionWithinAMinuteOfItsPeerVanishing() throws Exception {
    CopySinkSettings settings = settings(Duration.ofSeconds(1));
    List<Connection> opened = new ArrayList<>();
    ConnectionFactory recording =
        () -> {
          Connection connection = connections(DB.get()).connect();
          opened.add(connection);
          return connection;
        };
    try (CopySinkWriter<TestRow> writer =
        new CopySinkWriter<>(
            settings,
            new TestRowEncoder(),
            recording,
            null,
            context(FIRST_JOB, 0, 1, OptionalLong.empty(), 0))) {
      Connection owner = opened.get(opened.size() - 1);
      try (Statement statement = owner.createStatement();
          ResultSet rows =
              statement.executeQuery(
                  "SELECT current_setting('tcp_keepalives_idle'),"
                      + " current_setting('tcp_keepalives_interval'),"
                      + " current_setting('tcp_keepalives_count'),"
                      + " current_setting('tcp_user_timeout'), application_name"
                      + " FROM pg_stat_activity WHERE pid = pg_backend_pid()")) {
        rows.next();
        assertThat(rows.getString(1)).isEqualTo("30");
        assertThat(rows.getString(2)).isEqualTo("10");
        assertThat(rows.getString(3)).isEqualTo("3");
        assertThat(rows.getString(4)).isEqualTo("60000");
        assertThat(rows.getString(5)).isEqualTo("flink-postgres-copy " + FIRST_JOB + " 0 0");
      }
    }
  }

  @Test
  void aWriterTakingOverAFormerSubtaskAfterARescaleWaitsForItsOwner() throws Exception {
    CopySinkSettings settings = settings(Duration.ofSeconds(1));
    // Another job still writes as subtask 2 of 3; after scaling to 2, subtask 0 would take over
    // (and roll back) subtask 2's transactions.
    try (CopySinkWriter<TestRow> other = writer(settings, SECOND_JOB, 2, 3, OptionalLong.empty())) {
      // Restored from a checkpoint, the job may be the rightful owner: it fails, but restarts.
      assertThatThrownBy(() -> writer(settings, FIRST_JOB, 0, 2, OptionalLong.of(4)))
          .isInstanceOf(IOException.class)
          .rootCause()
          .hasMessageContaining("(subtask 2)");
      // Subtask 1 takes over nothing of subtask 2.
      writer(settings, FIRST_JOB, 1, 2, OptionalLong.of(4)).close();
    }
    writer(settings, FIRST_JOB, 0, 2, OptionalLong.of(4)).close();
  }

  private static CopySinkSettings settings(Duration connectTimeout) {
    return CopySinkSettings.of(
        builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
            .setConnectTimeout(connectTimeout)
            .build());
  }

  private CopySinkWriter<TestRow> writer(
      CopySinkSettings settings, String jobId, int subtask, int parallelism, OptionalLong restored)
      throws Exception {
    return writer(settings, jobId, subtask, parallelism, restored, 0);
  }

  private CopySinkWriter<TestRow> writer(
      CopySinkSettings settings,
      String jobId,
      int subtask,
      int parallelism,
      OptionalLong restored,
      int attempt)
      throws Exception {
    return new CopySinkWriter<>(
        settings,
        new TestRowEncoder(),
        connections(DB.get()),
        null,
        context(jobId, subtask, parallelism, restored, attempt));
  }

  private WriterContext context(
      String jobId, int subtask, int parallelism, OptionalLong restored, int attempt) {
    return new WriterContext(
        subtask,
        parallelism,
        attempt,
        restored,
        timers,
        UnregisteredMetricsGroup.createSinkWriterMetricGroup(),
        jobId,
        Map.of());
  }

  private static long preparedCount() throws Exception {
    return DB.get()
        .queryLong("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()");
  }
}
