package io.placebrain.flink.connector.postgres.copy;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The sink in a real job on a MiniCluster, on generic rows: a task failure after checkpoints
 * completed (so committables are restored and committed again, and transactions prepared after the
 * restored checkpoint are rolled back) still stores every row exactly once and leaves nothing
 * prepared. The application's own ITCases add process kills, rescaling and outages.
 */
class PostgresCopySinkITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final int ROWS = 4_000;

  /** Set once the first failure happened; the restarted attempt runs through. */
  static final AtomicBoolean FAILED = new AtomicBoolean();

  /** Set when a checkpoint completed, so the failure comes after committed work. */
  static final AtomicBoolean CHECKPOINTED = new AtomicBoolean();

  @BeforeAll
  static void createTables() throws Exception {
    CopySinkTestSupport.createTables(DB.get());
  }

  @Test
  void aFailureAfterCompletedCheckpointsStoresEveryRowOnce() throws Exception {
    String prefix = "itcase-" + Long.toHexString(System.nanoTime());
    Configuration configuration = new Configuration();
    configuration.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    configuration.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
    configuration.set(
        RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.configure(configuration);
    env.enableCheckpointing(200);
    env.setParallelism(2);

    GeneratorFunction<Long, Long> identity = index -> index;
    env.fromSource(
            new DataGeneratorSource<>(
                identity, ROWS, RateLimiterStrategy.perSecond(2_000), Types.LONG),
            WatermarkStrategy.noWatermarks(),
            "sequence")
        .map(new FailOnceAfterACheckpoint())
        .sinkTo(
            PostgresCopySink.<TestRow>builder()
                .setConnection(DB.get().jdbcUrl(), DB.get().user(), DB.get().password())
                .setTable(TestRowEncoder.TABLE)
                .setEncoder(new TestRowEncoder())
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionIdPrefix(prefix)
                .setProgressTable("sink_progress")
                .setFlushInterval(Duration.ofMillis(100))
                .setMaxBufferedRows(100)
                .build());

    env.execute("copy sink failure injection");

    assertThat(FAILED).as("the job failed once").isTrue();
    assertThat(DB.get().queryLong("SELECT count(*) FROM measurements")).isEqualTo(ROWS);
    assertThat(DB.get().queryLong("SELECT count(DISTINCT value) FROM measurements"))
        .isEqualTo(ROWS);
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE '" + prefix + ":%'"))
        .isZero();
    assertThat(
            DB.get()
                .queryLong("SELECT count(*) FROM sink_progress WHERE prefix = '" + prefix + "'"))
        .as("the committer recorded its progress")
        .isPositive();
  }

  /**
   * Turns indexes into rows, and fails once, after a checkpoint completed, while taking the next
   * one: by then the sink has prepared that checkpoint's transaction, which the restarted writer
   * must roll back (its rows come again from the restored checkpoint).
   */
  static final class FailOnceAfterACheckpoint
      implements MapFunction<Long, TestRow>, CheckpointListener, CheckpointedFunction {

    private long seen;

    @Override
    public TestRow map(Long index) {
      seen++;
      return new TestRow(
          CopySinkTestSupport.BASE_MICROS + index * 1_000L,
          CopySinkTestSupport.DEVICE,
          "seq",
          index);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
      CHECKPOINTED.set(true);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) {
      if (seen > 0 && CHECKPOINTED.get() && !FAILED.getAndSet(true)) {
        throw new IllegalStateException(
            "injected failure while taking checkpoint " + context.getCheckpointId());
      }
    }

    @Override
    public void initializeState(FunctionInitializationContext context) {}
  }
}
