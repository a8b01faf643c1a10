package io.placebrain.collector.bench;

import io.placebrain.collector.readings.ReadingRowEncoder;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.testing.postgres.TestDatabase;
import io.placebrain.flink.connector.postgres.copy.BinaryCopyBuffer;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import java.io.ByteArrayInputStream;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.jdbc.JdbcConnectionOptions;
import org.apache.flink.connector.jdbc.JdbcExactlyOnceOptions;
import org.apache.flink.connector.jdbc.JdbcExecutionOptions;
import org.apache.flink.connector.jdbc.JdbcStatementBuilder;
import org.apache.flink.connector.jdbc.core.datastream.sink.JdbcSink;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.postgresql.xa.PGXADataSource;

/**
 * Rows per second into {@code readings}: the raw COPY ceiling (no Flink), the COPY sink in Flink
 * (exactly-once and at-least-once) and flink-connector-jdbc's JdbcSink, all writing the same rows
 * through one connection (parallelism 1) into a fresh database each run.
 */
final class Throughput {

  /** Rows per COPY statement: the sink's default batch ({@code sink.max-buffered-rows}). */
  static final int BATCH_ROWS = 20_000;

  /**
   * Short, so the checkpoint after the last row comes soon: its wait is random, and the fixed-cost
   * subtraction removes only its mean. The sink pays for it: a checkpoint stalls it for ~7 ms
   * (prepare, Flink's snapshot, commit), so at 250 ms it gives up ~3–5 % of its throughput to
   * checkpoints (measured: 125 ms costs 4–5 % more); a job checkpointing every few seconds gives up
   * a fraction of that.
   */
  private static final Duration CHECKPOINT_INTERVAL = Duration.ofMillis(250);

  private final BenchRows rows;
  private final long count;
  private final Map<String, Double> overheads = new HashMap<>();

  Throughput(BenchRows rows, long count) {
    this.rows = rows;
    this.count = count;
  }

  /**
   * Raw binary COPY of the pre-encoded rows with the driver's CopyManager: one COPY statement per
   * {@link #BATCH_ROWS} rows (the sink's batch size), one transaction.
   */
  double copyCeiling() throws Exception {
    return rawCopy(false);
  }

  /** The database server's CPU per million rows in each ceiling run, warm-up included. */
  final List<Double> ceilingServerCpuMs = new ArrayList<>();

  /** The same COPY into {@code readings} without its index: where the database's time goes. */
  double copyWithoutIndex() throws Exception {
    return rawCopy(true);
  }

  private double rawCopy(boolean dropIndex) throws Exception {
    List<byte[]> batches = new ArrayList<>();
    BinaryCopyBuffer buffer = new BinaryCopyBuffer(4 * 1024 * 1024);
    ReadingRowEncoder encoder = new ReadingRowEncoder();
    for (long i = 0; i < count; i++) {
      encoder.encode(rows.reading(i), buffer);
      if (buffer.rows() == BATCH_ROWS || i == count - 1) {
        batches.add(buffer.toCopyStream());
        buffer.clear();
      }
    }
    return withDatabase(
        db -> {
          if (dropIndex) {
            db.execute("DROP INDEX readings_device_key_time_idx");
          }
          ProcessCpu server = new ProcessCpu(db);
          try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            CopyManager copy = connection.unwrap(PGConnection.class).getCopyAPI();
            long started = System.nanoTime();
            long copied = 0;
            for (byte[] batch : batches) {
              copied +=
                  copy.copyIn(
                      "COPY readings (time, device_id, key, value) FROM STDIN (FORMAT binary)",
                      new ByteArrayInputStream(batch));
            }
            connection.commit();
            double seconds = (System.nanoTime() - started) / 1e9;
            if (!dropIndex) {
              ceilingServerCpuMs.add(server.serverMs() / (count / 1e6));
            }
            check(copied);
            return count / seconds;
          }
        });
  }

  double copySink(BenchCluster cluster, DeliveryGuarantee guarantee) throws Exception {
    return withDatabase(
        db ->
            runBounded(
                cluster,
                "copy " + guarantee,
                PostgresCopySink.<Reading>builder()
                    .setConnection(db.jdbcUrl(), db.user(), db.password())
                    .setTable("readings")
                    .setEncoder(new ReadingRowEncoder())
                    .setDeliveryGuarantee(guarantee)
                    .setTransactionIdPrefix("bench-" + Instant.now().toEpochMilli())
                    .build(),
                db));
  }

  /**
   * JdbcSink with batched INSERTs; {@code rewriteBatches} turns on the driver's multi-row rewrite,
   * which a user tuning it for PostgreSQL would set, off being what one gets by default.
   */
  double jdbcSink(BenchCluster cluster, boolean rewriteBatches) throws Exception {
    return withDatabase(
        db -> {
          JdbcConnectionOptions.JdbcConnectionOptionsBuilder connection =
              new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
                  // The driver's batch rewriting: what a user tuning JdbcSink for PostgreSQL sets.
                  .withUrl(
                      db.jdbcUrl()
                          + (db.jdbcUrl().contains("?") ? "&" : "?")
                          + "reWriteBatchedInserts="
                          + rewriteBatches)
                  .withDriverName("org.postgresql.Driver")
                  .withUsername(db.user());
          if (db.password() != null) {
            connection.withPassword(db.password());
          }
          Sink<Reading> sink =
              JdbcSink.<Reading>builder()
                  .withQueryStatement(INSERT_SQL, INSERT_READING)
                  .withExecutionOptions(
                      JdbcExecutionOptions.builder()
                          .withBatchSize(5000)
                          .withBatchIntervalMs(1000)
                          .build())
                  .buildAtLeastOnce(connection.build());
          return runBounded(cluster, "jdbc " + rewriteBatches, sink, db);
        });
  }

  /**
   * flink-connector-jdbc's exactly-once sink: XA transactions through PostgreSQL's {@code
   * PGXADataSource}, one transaction per connection (PostgreSQL cannot interleave XA transactions
   * on a connection), batches of 5,000 INSERTs, no retries (the connector's rule for exactly-once).
   * The fair anchor for the COPY sink's exactly-once mode; needs {@code max_prepared_transactions}.
   */
  double jdbcXaSink(BenchCluster cluster) throws Exception {
    return withDatabase(
        db -> {
          String url = db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?");
          String user = db.user();
          String password = db.password();
          Sink<Reading> sink =
              JdbcSink.<Reading>builder()
                  .withQueryStatement(INSERT_SQL, INSERT_READING)
                  .withExecutionOptions(
                      JdbcExecutionOptions.builder()
                          .withBatchSize(5000)
                          .withBatchIntervalMs(1000)
                          .withMaxRetries(0)
                          .build())
                  .buildExactlyOnce(
                      JdbcExactlyOnceOptions.builder().withTransactionPerConnection(true).build(),
                      () -> {
                        PGXADataSource source = new PGXADataSource();
                        source.setUrl(url + "reWriteBatchedInserts=true");
                        source.setUser(user);
                        if (password != null) {
                          source.setPassword(password);
                        }
                        return source;
                      });
          return runBounded(cluster, "jdbc xa", sink, db);
        });
  }

  private static final String INSERT_SQL =
      "INSERT INTO readings (time, device_id, key, value) VALUES (?, ?, ?, ?)";

  private static final JdbcStatementBuilder<Reading> INSERT_READING =
      (statement, reading) -> {
        statement.setObject(
            1,
            OffsetDateTime.ofInstant(
                Instant.EPOCH.plus(reading.timeMicros, ChronoUnit.MICROS), ZoneOffset.UTC));
        statement.setObject(2, reading.deviceId());
        statement.setString(3, reading.key);
        statement.setDouble(4, reading.value);
      };

  /**
   * Rows generated in the job (source → map → sink, one chained task); committed rows per second.
   * The job's fixed cost — deployment, the final checkpoint that commits the last rows, shutdown —
   * is measured once per sink with the same job on a single row and subtracted, so the figure is
   * the writing rate.
   */
  private double runBounded(BenchCluster cluster, String name, Sink<Reading> sink, TestDatabase db)
      throws Exception {
    if (!overheads.containsKey(name)) {
      timeJob(cluster, sink, 1); // not counted: it may be the first job in this JVM, still cold
      double[] seconds = new double[3];
      for (int i = 0; i < seconds.length; i++) {
        seconds[i] = timeJob(cluster, sink, 1);
      }
      overheads.put(name, Figure.of("overhead", "", "s", seconds).median());
      // Not TRUNCATE: on TimescaleDB it drops the chunks made ahead, and a chunk the sink then
      // creates stays locked by its prepared transaction while the next one waits to write to it.
      db.execute("DELETE FROM readings");
    }
    double seconds = timeJob(cluster, sink, count) - overheads.get(name);
    check(db.queryLong("SELECT count(*) FROM readings"));
    return count / seconds;
  }

  private double timeJob(BenchCluster cluster, Sink<Reading> sink, long rowCount) throws Exception {
    StreamExecutionEnvironment env = cluster.environment(1);
    env.enableCheckpointing(CHECKPOINT_INTERVAL.toMillis());
    env.fromSequence(0, rowCount - 1).map(new RowAt(rows)).name("generate rows").sinkTo(sink);
    long started = System.nanoTime();
    env.execute("bench sink");
    return (System.nanoTime() - started) / 1e9;
  }

  private void check(long written) {
    if (written != count) {
      throw new IllegalStateException("Expected " + count + " rows, found " + written);
    }
  }

  /** Work against one fresh database. */
  interface DatabaseRun {
    double run(TestDatabase db) throws Exception;
  }

  static double withDatabase(DatabaseRun run) throws Exception {
    TestDatabase db = BenchDatabases.create();
    try {
      return run.run(db);
    } finally {
      db.drop();
    }
  }

  /** Row {@code i} of {@link BenchRows}. */
  static final class RowAt implements MapFunction<Long, Reading> {
    private final BenchRows rows;

    RowAt(BenchRows rows) {
      this.rows = rows;
    }

    @Override
    public Reading map(Long i) {
      return rows.reading(i);
    }
  }
}
