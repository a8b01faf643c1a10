package io.placebrain.flink.connector.postgres.copy;

import io.placebrain.collector.testing.postgres.TestDatabase;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommitter;
import io.placebrain.flink.connector.postgres.copy.writer.CopySinkWriter;
import io.placebrain.flink.connector.postgres.copy.writer.WriterContext;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.UUID;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;

/** Builds COPY sinks and writers against a test database, and fake commit requests. */
public final class CopySinkTestSupport {

  public static final UUID DEVICE = UUID.fromString("0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b");

  /** An hour ago, within every retention window: its day's partition or chunk exists. */
  public static final long BASE_MICROS =
      (java.time.Instant.now().getEpochSecond() - 3600) * 1_000_000L;

  private CopySinkTestSupport() {}

  /** The test table and the sink's own tables, with the definitions the connector documents. */
  public static void createTables(TestDatabase db) throws Exception {
    db.execute(TestRowEncoder.DDL);
    db.execute(CopySinkTables.rejectedRowsDdl("rejected_rows"));
    db.execute(CopySinkTables.progressDdl("sink_progress"));
  }

  public static PostgresCopySinkBuilder<TestRow> builder(
      TestDatabase db, DeliveryGuarantee guarantee) {
    return PostgresCopySink.<TestRow>builder()
        .setConnection(db.jdbcUrl(), db.user(), db.password())
        .setTable("measurements")
        .setEncoder(new TestRowEncoder())
        .setDeliveryGuarantee(guarantee)
        .setTransactionIdPrefix("test-" + db.name().substring(db.name().length() - 8))
        .setFlushInterval(Duration.ofHours(1))
        .setConnectTimeout(Duration.ofSeconds(5))
        .setRetryBackoff(Duration.ofMillis(10), Duration.ofMillis(100));
  }

  public static ConnectionFactory connections(TestDatabase db) {
    return ConnectionFactory.of(db.jdbcUrl(), db.user(), db.password());
  }

  public static CopySinkWriter<TestRow> writer(
      CopySinkSettings settings,
      ConnectionFactory connections,
      int subtask,
      OptionalLong restoredCheckpoint,
      TestProcessingTimeService timers)
      throws Exception {
    return writer(settings, connections, subtask, 2, restoredCheckpoint, timers);
  }

  public static CopySinkWriter<TestRow> writer(
      CopySinkSettings settings,
      ConnectionFactory connections,
      int subtask,
      int parallelism,
      OptionalLong restoredCheckpoint,
      TestProcessingTimeService timers)
      throws Exception {
    return new CopySinkWriter<>(
        settings,
        new TestRowEncoder(),
        connections,
        null,
        new WriterContext(
            subtask,
            2,
            restoredCheckpoint,
            timers,
            UnregisteredMetricsGroup.createSinkWriterMetricGroup()));
  }

  public static TestRow row(int sequence) {
    return new TestRow(BASE_MICROS + sequence * 1_000_000L, DEVICE, "seq", sequence);
  }

  /**
   * Commits through a {@link CopyCommitter} as Flink's committer operator would after the
   * checkpoint; returns what the committer decided for each.
   */
  public static java.util.List<String> commit(
      TestDatabase db,
      CopySinkSettings settings,
      java.util.Collection<CopyCommittable> committables)
      throws Exception {
    java.util.List<RecordingRequest> requests = new java.util.ArrayList<>();
    committables.forEach(c -> requests.add(new RecordingRequest(c)));
    try (CopyCommitter committer =
        new CopyCommitter(settings, connections(db), new UnregisteredMetricsGroup())) {
      committer.commit(new java.util.ArrayList<>(requests));
    }
    java.util.List<String> outcomes = new java.util.ArrayList<>();
    requests.forEach(r -> outcomes.add(r.outcome));
    return outcomes;
  }

  /** A commit request that records what the committer decided. */
  public static final class RecordingRequest implements Committer.CommitRequest<CopyCommittable> {
    final CopyCommittable committable;
    public String outcome = "committed";
    public Throwable failure;

    public RecordingRequest(CopyCommittable committable) {
      this.committable = committable;
    }

    @Override
    public CopyCommittable getCommittable() {
      return committable;
    }

    @Override
    public int getNumberOfRetries() {
      return 0;
    }

    @Override
    public void signalFailedWithKnownReason(Throwable t) {
      outcome = "failed";
      failure = t;
    }

    @Override
    public void signalFailedWithUnknownReason(Throwable t) {
      outcome = "failed-unknown";
      failure = t;
    }

    @Override
    public void retryLater() {
      outcome = "retry-later";
    }

    @Override
    public void updateAndRetryLater(CopyCommittable committable) {
      outcome = "retry-later";
    }

    @Override
    public void signalAlreadyCommitted() {
      outcome = "already-committed";
    }
  }
}
