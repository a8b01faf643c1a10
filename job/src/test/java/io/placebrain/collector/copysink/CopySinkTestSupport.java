package io.placebrain.collector.copysink;

import io.placebrain.collector.copysink.committer.CopyCommittable;
import io.placebrain.collector.copysink.writer.CopySinkWriter;
import io.placebrain.collector.copysink.writer.WriterContext;
import io.placebrain.collector.readings.ReadingRowEncoder;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.testing.postgres.TestDatabase;
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
  public static final UUID PLACE = UUID.fromString("6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e");

  /** An hour ago, within every retention window: its day's partition or chunk exists. */
  public static final long BASE_MICROS =
      (java.time.Instant.now().getEpochSecond() - 3600) * 1_000_000L;

  private CopySinkTestSupport() {}

  public static CopySinkBuilder<Reading> builder(TestDatabase db, DeliveryGuarantee guarantee) {
    return CopySink.<Reading>builder()
        .setConnection(db.jdbcUrl(), db.user(), db.password())
        .setTable("readings")
        .setEncoder(new ReadingRowEncoder())
        .setDeliveryGuarantee(guarantee)
        .setTransactionIdPrefix("test-" + db.name().substring(db.name().length() - 8))
        .setFlushInterval(Duration.ofHours(1))
        .setConnectTimeout(Duration.ofSeconds(5))
        .setRetryBackoff(Duration.ofMillis(10), Duration.ofMillis(100));
  }

  public static ConnectionFactory connections(TestDatabase db) {
    return ConnectionFactory.of(db.jdbcUrl(), db.user(), db.password());
  }

  public static CopySinkWriter<Reading> writer(
      CopySinkSettings settings,
      ConnectionFactory connections,
      int subtask,
      OptionalLong restoredCheckpoint,
      TestProcessingTimeService timers)
      throws Exception {
    return writer(settings, connections, subtask, 2, restoredCheckpoint, timers);
  }

  public static CopySinkWriter<Reading> writer(
      CopySinkSettings settings,
      ConnectionFactory connections,
      int subtask,
      int parallelism,
      OptionalLong restoredCheckpoint,
      TestProcessingTimeService timers)
      throws Exception {
    return new CopySinkWriter<>(
        settings,
        new ReadingRowEncoder(),
        connections,
        null,
        new WriterContext(
            subtask,
            2,
            restoredCheckpoint,
            timers,
            UnregisteredMetricsGroup.createSinkWriterMetricGroup()));
  }

  public static Reading reading(int sequence) {
    return new Reading(BASE_MICROS + sequence * 1_000_000L, DEVICE, PLACE, "seq", sequence);
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
