package io.placebrain.flink.connector.postgres.copy.committer;

import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.builder;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.connections;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.flink.connector.postgres.copy.AfterCommitStatement;
import io.placebrain.flink.connector.postgres.copy.ConnectionFactory;
import io.placebrain.flink.connector.postgres.copy.CopySinkSettings;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.RecordingRequest;
import io.placebrain.flink.connector.postgres.copy.StatementParameter;
import io.placebrain.flink.connector.postgres.copy.TestRowEncoder;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** How the committer sorts commit outcomes: done, already done, retry, or fail. */
class CopyCommitterTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static CopySinkSettings settings;

  @BeforeAll
  static void setUp() throws Exception {
    DB.get()
        .execute(
            "CREATE TABLE measurements (time timestamptz, device_id uuid, key text, value float8)");
    settings =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).setCommitAttempts(3).build());
  }

  @Test
  void commitsAPreparedTransaction() throws Exception {
    prepare("t:1:0:a");

    RecordingRequest request = commitWith(connections(DB.get()), "t:1:0:a");

    assertThat(request.outcome).isEqualTo("committed");
    assertThat(DB.get().queryLong("SELECT count(*) FROM measurements WHERE key = 't:1:0:a'"))
        .isEqualTo(1);
  }

  @Test
  void runsActionsWithEveryParameterTypeBoundAsTyped() throws Exception {
    DB.get()
        .execute(
            "CREATE TABLE typed_values (t text, i int8, f float8, b bool, u uuid, ts timestamptz,"
                + " n text)");
    AfterCommitStatement insert =
        AfterCommitStatement.of(
            "insert_typed", "INSERT INTO typed_values VALUES (?, ?, ?, ?, ?, ?, ?)");
    CopySinkSettings typed =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setEncoder(TestRowEncoder.declaring(List.of(insert)))
                .build());
    UUID device = UUID.fromString("0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
    CopyCommittable committable =
        new CopyCommittable(
            null,
            0,
            List.of(
                insert.bind(
                    StatementParameter.text("it's ?"),
                    StatementParameter.int8(Long.MIN_VALUE),
                    StatementParameter.float8(-0.5),
                    StatementParameter.bool(true),
                    StatementParameter.uuid(device),
                    StatementParameter.timestampMicros(1_767_225_600_123_456L),
                    StatementParameter.sqlNull())));

    assertThat(CopySinkTestSupport.commit(DB.get(), typed, List.of(committable)))
        .containsExactly("committed");

    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM typed_values WHERE t = 'it''s ?'"
                        + " AND i = -9223372036854775808 AND f = -0.5 AND b AND u = '"
                        + device
                        + "' AND ts = '2026-01-01 00:00:00.123456+00' AND n IS NULL"))
        .isOne();
  }

  @Test
  void theEarliestTimestampAndATextWithASurrogatePairAreStoredAsThemselves() throws Exception {
    DB.get().execute("CREATE TABLE edge_values (ts timestamptz, t text)");
    AfterCommitStatement insert =
        AfterCommitStatement.of("insert_edge", "INSERT INTO edge_values VALUES (?, ?)");
    CopySinkSettings edge =
        CopySinkSettings.of(
            builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE)
                .setEncoder(TestRowEncoder.declaring(List.of(insert)))
                .build());
    CopyCommittable committable =
        new CopyCommittable(
            null,
            0,
            List.of(
                insert.bind(
                    StatementParameter.timestampMicros(-210_863_520_000_000_000L),
                    StatementParameter.text("\uD83D\uDE00"))));

    assertThat(CopySinkTestSupport.commit(DB.get(), edge, List.of(committable)))
        .containsExactly("committed");

    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM edge_values WHERE isfinite(ts)"
                        + " AND ts = '4713-01-01 00:00:00+00 BC' AND t = U&'\\+01F600'"))
        .isOne();
  }

  @Test
  void aTransactionNoLongerPreparedCountsAsAlreadyCommitted() throws Exception {
    prepare("t:2:0:a");
    commitWith(connections(DB.get()), "t:2:0:a");

    RecordingRequest again = commitWith(connections(DB.get()), "t:2:0:a");

    assertThat(again.outcome).isEqualTo("already-committed");
  }

  @Test
  void aTransactionCommittedBeforeARestartIsRecognisedByItsId() throws Exception {
    long xid = prepareWithId("t:7:0:a");
    DB.get().execute("COMMIT PREPARED 't:7:0:a'");

    RecordingRequest again = commitWith(connections(DB.get()), "t:7:0:a", xid);

    assertThat(again.outcome).isEqualTo("already-committed");
  }

  @Test
  void aTransactionRolledBackByHandFailsTheJobInsteadOfCountingAsCommitted() throws Exception {
    long xid = prepareWithId("t:8:0:a");
    DB.get().execute("ROLLBACK PREPARED 't:8:0:a'");

    assertThatThrownBy(() -> commitWith(connections(DB.get()), "t:8:0:a", xid))
        .isInstanceOf(SuppressRestartsException.class)
        .rootCause()
        .hasMessageContaining("t:8:0:a")
        .hasMessageContaining("rolled back");
  }

  @Test
  void aTransactionThisServerNeverRanFailsTheJob() throws Exception {
    // As when the job is restored with database.url pointing at another server.
    long future = prepareWithId("t:9:0:a") + 1_000_000_000L;
    DB.get().execute("ROLLBACK PREPARED 't:9:0:a'");

    assertThatThrownBy(() -> commitWith(connections(DB.get()), "t:9:0:a", future))
        .isInstanceOf(SuppressRestartsException.class)
        .rootCause()
        .hasMessageContaining("never ran it");
  }

  @Test
  void transientFailuresAreRetriedUntilTheCommitGoesThrough() throws Exception {
    prepare("t:3:0:a");
    AtomicInteger attempts = new AtomicInteger();
    ConnectionFactory flaky = failingFirst(2, "08001", attempts);

    RecordingRequest request = commitWith(flaky, "t:3:0:a");

    assertThat(request.outcome).isEqualTo("committed");
    assertThat(attempts).hasValue(3);
  }

  @Test
  void aStatementCancelledByATimeoutIsRetried() throws Exception {
    prepare("t:6:0:a");
    AtomicInteger attempts = new AtomicInteger();

    RecordingRequest request = commitWith(failingFirst(2, "57014", attempts), "t:6:0:a");

    assertThat(request.outcome).isEqualTo("committed");
    assertThat(attempts).hasValue(3);
  }

  @Test
  void transientFailuresBeyondTheAttemptsFailWithTheReason() throws Exception {
    AtomicInteger attempts = new AtomicInteger();

    assertThatThrownBy(() -> commitWith(failingFirst(100, "57P01", attempts), "t:4:0:a"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("t:4:0:a")
        .hasMessageContaining("57P01")
        .hasMessageContaining("3 attempts")
        .hasMessageContaining("stays prepared");
    assertThat(attempts).hasValue(3);
  }

  @Test
  void permanentFailuresFailWithTheReason() throws Exception {
    AtomicInteger attempts = new AtomicInteger();

    assertThatThrownBy(() -> commitWith(failingFirst(100, "42501", attempts), "t:5:0:a"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("t:5:0:a")
        .hasMessageContaining("42501")
        .hasMessageContaining("stays prepared");
    assertThat(attempts).as("not retried").hasValue(1);
  }

  private static ConnectionFactory failingFirst(
      int failures, String state, AtomicInteger attempts) {
    ConnectionFactory real = connections(DB.get());
    return () -> {
      if (attempts.incrementAndGet() <= failures) {
        throw new SQLException("injected failure", state);
      }
      return real.connect();
    };
  }

  private static void prepare(String name) throws Exception {
    DB.get()
        .execute(
            "BEGIN; INSERT INTO measurements VALUES (now(), gen_random_uuid(), '"
                + name
                + "', 1); PREPARE TRANSACTION '"
                + name
                + "'");
  }

  /** Prepares a transaction named {@code name}; returns its id, as the writer records it. */
  private static long prepareWithId(String name) throws Exception {
    try (Connection connection = DB.get().connect();
        Statement statement = connection.createStatement()) {
      connection.setAutoCommit(false);
      statement.execute(
          "INSERT INTO measurements VALUES (now(), gen_random_uuid(), '" + name + "', 1)");
      long xid;
      try (ResultSet id = statement.executeQuery("SELECT txid_current()")) {
        id.next();
        xid = id.getLong(1);
      }
      statement.execute("PREPARE TRANSACTION '" + name + "'");
      connection.setAutoCommit(true);
      return xid;
    }
  }

  private static RecordingRequest commitWith(ConnectionFactory connections, String name)
      throws Exception {
    return commitWith(connections, name, 0);
  }

  private static RecordingRequest commitWith(ConnectionFactory connections, String name, long xid)
      throws Exception {
    RecordingRequest request = new RecordingRequest(new CopyCommittable(name, 1, List.of(), xid));
    try (CopyCommitter committer =
        new CopyCommitter(settings, connections, new UnregisteredMetricsGroup())) {
      committer.commit(List.of(request));
    }
    return request;
  }
}
