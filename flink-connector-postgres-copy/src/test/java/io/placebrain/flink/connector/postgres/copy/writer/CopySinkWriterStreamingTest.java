package io.placebrain.flink.connector.postgres.copy.writer;

import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.BASE_MICROS;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.DEVICE;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.builder;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.connections;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.row;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.writer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.flink.connector.postgres.copy.CopySinkSettings;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport;
import io.placebrain.flink.connector.postgres.copy.TestRow;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import java.util.Collection;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A batch larger than a stream chunk goes into its COPY while it is still being buffered, so the
 * database stores rows while later ones are encoded; everything a batch sent whole survives holds
 * for a streamed one too: refused rows isolated, a lost connection retried or failed the same way,
 * every row stored exactly once.
 */
class CopySinkWriterStreamingTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  /** Rows per batch: several stream chunks of {@link TestRow}s (53 bytes each). */
  private static final int BATCH = 4_000;

  private static final double REFUSED_VALUE = -13;

  private final TestProcessingTimeService timers = new TestProcessingTimeService();

  @BeforeAll
  static void createSchema() throws Exception {
    CopySinkTestSupport.createTables(DB.get());
    DB.get()
        .execute(
            "ALTER TABLE measurements ADD CONSTRAINT measurements_refuses_minus_13 CHECK (value <> "
                + REFUSED_VALUE
                + ")");
  }

  @BeforeEach
  void emptyTables() throws Exception {
    DB.get().execute("DELETE FROM measurements");
    DB.get().execute("DELETE FROM rejected_rows");
  }

  @Test
  void theDatabaseStoresABatchWhileItsLaterRowsAreStillBuffered() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).setMaxBufferedRows(BATCH).build());
    try (CopySinkWriter<TestRow> writer =
        writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers)) {
      write(writer, 0, BATCH - 1);
      assertThat(writer.bufferedRows()).isEqualTo(BATCH - 1);
      awaitCopyInProgress();
      write(writer, BATCH - 1, BATCH + 10);
      commit(writer, settings);
    }
    assertThat(count("measurements")).isEqualTo(BATCH + 10);
    assertThat(DB.get().queryLong("SELECT count(DISTINCT value) FROM measurements"))
        .isEqualTo(BATCH + 10);
  }

  @ParameterizedTest
  @EnumSource(
      value = DeliveryGuarantee.class,
      names = {"EXACTLY_ONCE", "AT_LEAST_ONCE"})
  void aRefusedRowInAStreamedBatchGoesToTheRejectedTableAndNothingElseIsLost(
      DeliveryGuarantee guarantee) throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), guarantee)
                .setMaxBufferedRows(BATCH)
                .setRejectedRowsTable("rejected_rows")
                .build());
    try (CopySinkWriter<TestRow> writer =
        writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers)) {
      // One refused row late in the first batch (rolled back with the whole transaction) and one
      // in the second (rolled back to the savepoint taken before its COPY opened).
      for (int i = 0; i < 2 * BATCH; i++) {
        writer.write(i == 3_000 || i == BATCH + 3_500 ? refused(i) : row(i), null);
      }
      if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
        commit(writer, settings);
      } else {
        writer.flush(false);
      }
    }
    assertThat(count("measurements")).isEqualTo(2 * BATCH - 2);
    assertThat(DB.get().queryLong("SELECT count(DISTINCT value) FROM measurements"))
        .isEqualTo(2 * BATCH - 2);
    assertThat(DB.get().queryLong("SELECT count(*) FROM rejected_rows WHERE sqlstate = '23514'"))
        .isEqualTo(2);
  }

  @Test
  void withoutARejectedTableARefusedRowInAStreamedBatchFailsTheWriter() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.AT_LEAST_ONCE).setMaxBufferedRows(BATCH).build());
    try (CopySinkWriter<TestRow> writer =
        writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers)) {
      write(writer, 0, 2_000);
      writer.write(refused(2_000), null);
      write(writer, 2_001, 3_000);
      assertThatThrownBy(() -> writer.flush(false)).hasMessageContaining("23514");
    }
    assertThat(count("measurements")).isZero();
  }

  @Test
  void aConnectionLostWhileStreamingTheFirstBatchIsSentAgainWhole() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).setMaxBufferedRows(BATCH).build());
    try (CopySinkWriter<TestRow> writer =
        writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers)) {
      write(writer, 0, 2_500);
      awaitCopyInProgress();
      terminateSinkSessions();
      write(writer, 2_500, BATCH - 1);
      commit(writer, settings);
    }
    assertThat(count("measurements")).isEqualTo(BATCH - 1);
    assertThat(DB.get().queryLong("SELECT count(DISTINCT value) FROM measurements"))
        .isEqualTo(BATCH - 1);
  }

  @Test
  void aConnectionLostWhileStreamingALaterBatchFailsTheTaskAndLeavesNothing() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).setMaxBufferedRows(BATCH).build());
    try (CopySinkWriter<TestRow> writer =
        writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers)) {
      write(writer, 0, BATCH);
      write(writer, BATCH, BATCH + 2_500);
      terminateSinkSessions();
      assertThatThrownBy(() -> writer.flush(false))
          .hasMessageContaining(BATCH + " rows of this checkpoint already sent");
    }
    assertThat(count("measurements")).isZero();
    assertThat(DB.get().queryLong("SELECT count(*) FROM pg_prepared_xacts")).isZero();
  }

  @Test
  void aStatementTimeoutOfTheDatabaseDoesNotCancelABatchStreamedForLonger() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).setMaxBufferedRows(BATCH).build());
    DB.get().execute("ALTER DATABASE " + DB.get().name() + " SET statement_timeout = '1s'");
    try (CopySinkWriter<TestRow> writer =
        writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers)) {
      write(writer, 0, BATCH); // a first batch, sent whole
      write(writer, BATCH, BATCH + 2_000);
      // The second batch's COPY has been open for longer than the timeout when it ends.
      awaitValue(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'flink-postgres-copy'"
              + " AND datname = current_database() AND query LIKE 'COPY%'"
              + " AND now() - query_start > interval '1500 milliseconds'",
          n -> n > 0);
      write(writer, BATCH + 2_000, BATCH + 2_010);
      commit(writer, settings);
    } finally {
      DB.get().execute("ALTER DATABASE " + DB.get().name() + " RESET statement_timeout");
    }
    assertThat(count("measurements")).isEqualTo(BATCH + 2_010);
  }

  /** The server's own progress report of the writer's open COPY: rows arrived while buffering. */
  private static void awaitCopyInProgress() throws Exception {
    awaitValue(
        "SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy"
            + " WHERE datname = current_database()",
        processed -> processed > 0);
  }

  private static void write(CopySinkWriter<TestRow> writer, int from, int to) throws Exception {
    for (int i = from; i < to; i++) {
      writer.write(row(i), null);
    }
  }

  private static void commit(CopySinkWriter<TestRow> writer, CopySinkSettings settings)
      throws Exception {
    writer.flush(false);
    Collection<CopyCommittable> committables = writer.prepareCommit();
    writer.snapshotState(1);
    CopySinkTestSupport.commit(DB.get(), settings, committables);
  }

  /** Ends the writer's sessions and waits until the server has let them go. */
  private static void terminateSinkSessions() throws Exception {
    String sessions =
        " FROM pg_stat_activity WHERE application_name = 'flink-postgres-copy'"
            + " AND datname = current_database()";
    DB.get().execute("SELECT pg_terminate_backend(pid)" + sessions);
    awaitValue("SELECT count(*)" + sessions, n -> n == 0);
  }

  private static void awaitValue(String query, LongPredicate done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    long value = DB.get().queryLong(query);
    while (!done.test(value)) {
      assertThat(System.nanoTime()).as("%s, last %d", query, value).isLessThan(deadline);
      Thread.sleep(20);
      value = DB.get().queryLong(query);
    }
  }

  private static TestRow refused(int sequence) {
    return new TestRow(BASE_MICROS + sequence * 1_000_000L, DEVICE, "seq", REFUSED_VALUE);
  }

  private static long count(String table) throws Exception {
    return DB.get().queryLong("SELECT count(*) FROM " + table);
  }
}
