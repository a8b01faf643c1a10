package io.placebrain.flink.connector.postgres.copy;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import io.placebrain.flink.connector.postgres.copy.internal.TransactionIds;
import io.placebrain.flink.connector.postgres.copy.writer.CopyWriterState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Rescaling on generic rows: a job fails while committing a completed checkpoint (its prepared
 * transactions wait in the database), and is restored from that retained checkpoint at another
 * parallelism. The new subtasks commit the former subtasks' committables, roll back what former
 * subtasks prepared after the checkpoint (also of a subtask index that no longer exists: subtask
 * {@code j}'s leftovers go to subtask {@code j % parallelism}), and every row is stored once.
 */
class PostgresCopySinkRescaleITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final int ROWS = 6_000;

  /** Commit calls with work seen by the committers of the running job. */
  static final AtomicInteger COMMITS = new AtomicInteger();

  /** The commit call that fails, or 0 for none. */
  static volatile int failingCommit;

  @BeforeAll
  static void createTables() throws Exception {
    CopySinkTestSupport.createTables(DB.get());
  }

  @ParameterizedTest(name = "from parallelism {0} to {1}")
  @CsvSource({"2, 3", "2, 1", "3, 2", "3, 1"})
  void restoredAtAnotherParallelismWithCommitsPendingStoresEveryRowOnce(
      int before, int after, @TempDir Path checkpoints) throws Exception {
    DB.get().execute("DELETE FROM measurements");
    String prefix = "rescale-" + before + "-" + after + "-" + Long.toHexString(System.nanoTime());

    // The first job fails on its third commit with work: that checkpoint completed, so its
    // transactions stay prepared, for the restored job to commit.
    COMMITS.set(0);
    failingCommit = 3;
    StreamExecutionEnvironment first = environment(before);
    Configuration retained = new Configuration();
    retained.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.toUri().toString());
    retained.set(
        CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
        ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    first.configure(retained);
    attach(first, prefix);
    JobClient failed = first.executeAsync("fails while committing, at parallelism " + before);
    Assertions.assertThrows(Exception.class, () -> failed.getJobExecutionResult().get());
    assertThat(COMMITS).as("the planned failure struck").hasValueGreaterThanOrEqualTo(3);
    assertThat(prepared(prefix)).as("transactions of the completed checkpoint wait").isPositive();
    long beforeRestore = rows();
    assertThat(beforeRestore).as("stopped mid-stream").isLessThan(ROWS);

    // What the highest subtask prepared after the checkpoint and never handed over: rows that
    // would be stored twice if committed. After the rescale its index is gone or another's.
    String leftover =
        TransactionIds.name(
            prefix, 1_000_000, before - 1, TransactionIds.jobTag(failed.getJobID().toHexString()));
    DB.get()
        .execute(
            "BEGIN; INSERT INTO measurements VALUES (now(), '"
                + CopySinkTestSupport.DEVICE
                + "', 'leftover', -1); PREPARE TRANSACTION '"
                + leftover
                + "'");

    failingCommit = 0;
    StreamExecutionEnvironment second = environment(after);
    Configuration resume = new Configuration();
    resume.set(
        StateRecoveryOptions.SAVEPOINT_PATH, latestCheckpoint(checkpoints).toUri().toString());
    second.configure(resume);
    attach(second, prefix);
    second.execute("restored at parallelism " + after);

    assertThat(rows()).isEqualTo(ROWS);
    assertThat(DB.get().queryLong("SELECT count(DISTINCT value) FROM measurements"))
        .as("each row once")
        .isEqualTo(ROWS);
    assertThat(DB.get().queryLong("SELECT count(*) FROM measurements WHERE key = 'leftover'"))
        .as("the vanished subtask's leftover rolled back")
        .isZero();
    assertThat(prepared(prefix)).isZero();
  }

  private static StreamExecutionEnvironment environment(int parallelism) {
    Configuration configuration = new Configuration();
    configuration.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.configure(configuration);
    env.enableCheckpointing(200);
    env.setParallelism(parallelism);
    return env;
  }

  private static void attach(StreamExecutionEnvironment env, String prefix) {
    GeneratorFunction<Long, TestRow> rows =
        index ->
            new TestRow(
                CopySinkTestSupport.BASE_MICROS + index * 1_000L,
                CopySinkTestSupport.DEVICE,
                "seq",
                index);
    env.fromSource(
            new DataGeneratorSource<>(
                rows, ROWS, RateLimiterStrategy.perSecond(1_500), Types.GENERIC(TestRow.class)),
            WatermarkStrategy.noWatermarks(),
            "rows")
        .uid("rows")
        .sinkTo(
            new FailingCommits(
                PostgresCopySink.<TestRow>builder()
                    .setConnection(DB.get().jdbcUrl(), DB.get().user(), DB.get().password())
                    .setTable(TestRowEncoder.TABLE)
                    .setEncoder(new TestRowEncoder())
                    .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                    .setTransactionIdPrefix(prefix)
                    .setProgressTable("sink_progress")
                    .setFlushInterval(java.time.Duration.ofMillis(100))
                    .setMaxBufferedRows(100)
                    .build()))
        .uid("sink");
  }

  private static Path latestCheckpoint(Path checkpoints) throws IOException {
    try (Stream<Path> found = Files.walk(checkpoints)) {
      return found
          .filter(path -> path.getFileName().toString().equals("_metadata"))
          .map(Path::getParent)
          .max(
              Comparator.comparingLong(
                  path -> Long.parseLong(path.getFileName().toString().substring(4))))
          .orElseThrow();
    }
  }

  private static long rows() throws Exception {
    return DB.get().queryLong("SELECT count(*) FROM measurements");
  }

  private static long prepared(String prefix) throws Exception {
    return DB.get()
        .queryLong("SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE '" + prefix + ":%'");
  }

  /** The COPY sink, whose committer fails before commit call {@link #failingCommit}. */
  static final class FailingCommits
      implements Sink<TestRow>,
          SupportsCommitter<CopyCommittable>,
          SupportsWriterState<TestRow, CopyWriterState> {

    private final PostgresCopySink<TestRow> sink;

    FailingCommits(PostgresCopySink<TestRow> sink) {
      this.sink = sink;
    }

    @Override
    public SinkWriter<TestRow> createWriter(WriterInitContext context) throws IOException {
      return sink.createWriter(context);
    }

    @Override
    public StatefulSinkWriter<TestRow, CopyWriterState> restoreWriter(
        WriterInitContext context, Collection<CopyWriterState> state) throws IOException {
      return sink.restoreWriter(context, state);
    }

    @Override
    public SimpleVersionedSerializer<CopyWriterState> getWriterStateSerializer() {
      return sink.getWriterStateSerializer();
    }

    @Override
    public Committer<CopyCommittable> createCommitter(CommitterInitContext context) {
      Committer<CopyCommittable> committer = sink.createCommitter(context);
      return new Committer<>() {
        @Override
        public void commit(Collection<CommitRequest<CopyCommittable>> requests)
            throws IOException, InterruptedException {
          if (!requests.isEmpty() && COMMITS.incrementAndGet() == failingCommit) {
            throw new IOException("Planned failure before commit call " + failingCommit);
          }
          committer.commit(requests);
        }

        @Override
        public void close() throws Exception {
          committer.close();
        }
      };
    }

    @Override
    public SimpleVersionedSerializer<CopyCommittable> getCommittableSerializer() {
      return sink.getCommittableSerializer();
    }
  }
}
