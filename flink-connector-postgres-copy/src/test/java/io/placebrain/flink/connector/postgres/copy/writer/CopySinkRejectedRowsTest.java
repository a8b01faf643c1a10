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
import io.placebrain.flink.connector.postgres.copy.BinaryCopyBuffer;
import io.placebrain.flink.connector.postgres.copy.CopyRowEncoder;
import io.placebrain.flink.connector.postgres.copy.CopySinkSettings;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import io.placebrain.flink.connector.postgres.copy.TestRow;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import java.io.ByteArrayInputStream;
import java.sql.Connection;
import java.time.Duration;
import java.util.Collection;
import java.util.OptionalLong;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postgresql.PGConnection;

/**
 * Rows the database refuses (a NUL in text: SQLSTATE 22021; a check constraint: 23514) never fail
 * the writer: they land in the rejected-rows table, every other row is stored, in the same
 * transaction, through the writer's real checkpoint cycle against a real PostgreSQL.
 */
class CopySinkRejectedRowsTest {

  @org.junit.jupiter.api.extension.RegisterExtension
  static final FreshDatabase DB = new FreshDatabase();

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

  @ParameterizedTest
  @EnumSource(DeliveryGuarantee.class)
  void refusedRowsGoToTheRejectedTableAndEveryOtherRowIsStored(DeliveryGuarantee guarantee)
      throws Exception {
    if (guarantee == DeliveryGuarantee.NONE) {
      return;
    }
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), guarantee)
                .setMaxBufferedRows(8)
                .setRejectedRowsTable("rejected_rows")
                .build());
    try (CopySinkWriter<TestRow> writer =
        writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers)) {
      // Refused rows in the first batch of the transaction (no savepoint needed) and in later
      // ones (where a failure would take the earlier batches with it without the savepoint).
      for (int i = 0; i < 24; i++) {
        writer.write(i % 8 == 3 ? nulKey(i) : row(i), null);
        if (i == 17) {
          writer.write(refused(100), null);
        }
      }
      checkpoint(writer, guarantee, 1, 25);
      // The next transaction, after a prepare, isolates just the same.
      for (int i = 30; i < 34; i++) {
        writer.write(i == 31 ? nulKey(i) : row(i), null);
      }
      checkpoint(writer, guarantee, 2, 4);
    }

    assertThat(count("measurements")).isEqualTo(21 + 3);
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM measurements WHERE value IN (3, 11, 19, 31, "
                        + REFUSED_VALUE
                        + ")"))
        .isZero();
    assertThat(DB.get().queryLong("SELECT count(*) FROM rejected_rows WHERE sqlstate = '22021'"))
        .isEqualTo(4);
    assertThat(DB.get().queryLong("SELECT count(*) FROM rejected_rows WHERE sqlstate = '23514'"))
        .isEqualTo(1);
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM rejected_rows WHERE target_table = 'measurements'"
                        + " AND row_text LIKE '%ke\\\\u0000y%' AND message <> ''"))
        .isEqualTo(4);
    // The kept row is a complete COPY stream: once the cause is gone, it loads as it is.
    DB.get().execute("ALTER TABLE measurements DROP CONSTRAINT measurements_refuses_minus_13");
    try (Connection connection = DB.get().connect();
        var query = connection.createStatement();
        var result =
            query.executeQuery("SELECT row_copy FROM rejected_rows WHERE sqlstate = '23514'")) {
      result.next();
      byte[] row = result.getBytes(1);
      connection
          .unwrap(PGConnection.class)
          .getCopyAPI()
          .copyIn(
              "COPY measurements (time, device_id, key, value) FROM STDIN (FORMAT binary)",
              new ByteArrayInputStream(row));
    } finally {
      DB.get()
          .execute(
              "DELETE FROM measurements WHERE value = "
                  + REFUSED_VALUE
                  + "; ALTER TABLE measurements ADD CONSTRAINT measurements_refuses_minus_13 CHECK (value <> "
                  + REFUSED_VALUE
                  + ")");
    }
  }

  @org.junit.jupiter.api.Test
  void withoutARejectedTableARefusedRowFailsTheWriterWithTheDatabaseMessage() throws Exception {
    CopySinkSettings settings =
        CopySinkSettings.of(builder(DB.get(), DeliveryGuarantee.AT_LEAST_ONCE).build());
    try (CopySinkWriter<TestRow> writer =
        writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers)) {
      writer.write(nulKey(1), null);
      assertThatThrownBy(() -> writer.flush(false)).hasMessageContaining("22021");
    }
  }

  @org.junit.jupiter.api.Test
  void aMissingRejectedTableFailsAtStartWithWhatToCreate() {
    CopySinkSettings settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.AT_LEAST_ONCE)
                .setRejectedRowsTable("no_such_table")
                .build());
    assertThatThrownBy(
            () -> writer(settings, connections(DB.get()), 0, OptionalLong.empty(), timers))
        .hasMessageContaining("no_such_table")
        .hasMessageContaining("row_copy bytea");
  }

  @Test
  void aRefusedRowIsDescribedAsItWasWrittenWhereFlinkReusesObjects() throws Exception {
    DB.get().execute("CREATE TABLE IF NOT EXISTS notes (note text CHECK (note <> 'refused'))");
    CopySinkSettings settings =
        CopySinkSettings.of(
            PostgresCopySink.<StringBuilder>builder()
                .setConnection(DB.get().jdbcUrl(), DB.get().user(), DB.get().password())
                .setTable("notes")
                .setEncoder(new NoteEncoder())
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .setTransactionIdPrefix("notes")
                .setFlushInterval(Duration.ofHours(1))
                .setRejectedRowsTable("rejected_rows")
                .build());
    // With object reuse, Flink hands the writer one object, overwritten record after record.
    StringBuilder reused = new StringBuilder();
    try (CopySinkWriter<StringBuilder> writer =
        new CopySinkWriter<>(
            settings,
            new NoteEncoder(),
            connections(DB.get()),
            null,
            null,
            new WriterContext(
                0,
                1,
                OptionalLong.empty(),
                timers,
                UnregisteredMetricsGroup.createSinkWriterMetricGroup()),
            StringBuilder::new)) {
      for (String note : new String[] {"first", "refused", "last"}) {
        reused.setLength(0);
        reused.append(note);
        writer.write(reused, null);
      }
      writer.flush(false);
    }

    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM rejected_rows WHERE target_table = 'notes'"
                        + " AND row_text = 'refused'"))
        .isOne();
  }

  /** A mutable element, as Flink reuses one: a note of {@code notes (note)}. */
  private static final class NoteEncoder implements CopyRowEncoder<StringBuilder> {
    @Override
    public java.util.List<String> columns() {
      return java.util.List.of("note");
    }

    @Override
    public void encode(StringBuilder note, BinaryCopyBuffer row) {
      row.startRow(1);
      row.text(note.toString());
    }

    @Override
    public String describe(StringBuilder note) {
      return note.toString();
    }
  }

  /** One checkpoint of the writer; exactly once, its transaction of {@code rows} commits. */
  private static void checkpoint(
      CopySinkWriter<TestRow> writer, DeliveryGuarantee guarantee, long checkpointId, long rows)
      throws Exception {
    writer.flush(false);
    Collection<CopyCommittable> committables = writer.prepareCommit();
    writer.snapshotState(checkpointId);
    if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
      long before = count("rejected_rows");
      assertThat(committables).singleElement().extracting(CopyCommittable::rows).isEqualTo(rows);
      assertThat(count("rejected_rows")).as("rejections commit with the rows").isEqualTo(before);
      DB.get().execute("COMMIT PREPARED '" + committables.iterator().next().transactionId() + "'");
    } else {
      assertThat(committables).isEmpty();
    }
  }

  private static TestRow nulKey(int sequence) {
    return new TestRow(BASE_MICROS + sequence * 1_000_000L, DEVICE, "ke\u0000y", sequence);
  }

  private static TestRow refused(int sequence) {
    return new TestRow(BASE_MICROS + sequence * 1_000_000L, DEVICE, "seq", REFUSED_VALUE);
  }

  private static long count(String table) throws Exception {
    return DB.get().queryLong("SELECT count(*) FROM " + table);
  }
}
