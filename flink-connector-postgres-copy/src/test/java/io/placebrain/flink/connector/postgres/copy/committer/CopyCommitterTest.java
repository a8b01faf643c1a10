package io.placebrain.flink.connector.postgres.copy.committer;

import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.builder;
import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.connections;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.flink.connector.postgres.copy.ConnectionFactory;
import io.placebrain.flink.connector.postgres.copy.CopySinkSettings;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.RecordingRequest;
import java.io.IOException;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
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
        builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).setCommitAttempts(3).build().settings();
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
  void aTransactionNoLongerPreparedCountsAsAlreadyCommitted() throws Exception {
    prepare("t:2:0:a");
    commitWith(connections(DB.get()), "t:2:0:a");

    RecordingRequest again = commitWith(connections(DB.get()), "t:2:0:a");

    assertThat(again.outcome).isEqualTo("already-committed");
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

  private static RecordingRequest commitWith(ConnectionFactory connections, String name)
      throws Exception {
    RecordingRequest request = new RecordingRequest(new CopyCommittable(name, 1));
    try (CopyCommitter committer =
        new CopyCommitter(settings, connections, new UnregisteredMetricsGroup())) {
      committer.commit(List.of(request));
    }
    return request;
  }
}
