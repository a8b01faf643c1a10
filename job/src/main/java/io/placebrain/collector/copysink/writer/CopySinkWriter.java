package io.placebrain.collector.copysink.writer;

import io.placebrain.collector.copysink.BinaryCopyBuffer;
import io.placebrain.collector.copysink.ConnectionAction;
import io.placebrain.collector.copysink.ConnectionFactory;
import io.placebrain.collector.copysink.CopyRowEncoder;
import io.placebrain.collector.copysink.CopySinkSettings;
import io.placebrain.collector.copysink.committer.CopyCommittable;
import io.placebrain.collector.copysink.internal.Backoff;
import io.placebrain.collector.copysink.internal.Connections;
import io.placebrain.collector.copysink.internal.PreparedTransactions;
import io.placebrain.collector.copysink.internal.RejectedRows;
import io.placebrain.collector.copysink.internal.SqlFailures;
import io.placebrain.collector.copysink.internal.TransactionIds;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers rows in binary COPY format and sends them to PostgreSQL in batches.
 *
 * <p><b>Exactly once.</b> All batches between two checkpoints go into one database transaction.
 * Before the checkpoint barrier passes, the writer sends what it still buffers and turns the
 * transaction into a prepared transaction ({@code PREPARE TRANSACTION}), which survives crashes and
 * restarts of both the job and the database. Its name goes into the checkpoint as a committable;
 * once the checkpoint is complete, the committer runs {@code COMMIT PREPARED}. So the rows of a
 * checkpoint become visible exactly when the source offsets that produced them are durable:
 *
 * <ul>
 *   <li>a failure before the checkpoint completes loses the open or prepared transaction, and the
 *       job replays those rows from the checkpoint before; prepared leftovers are rolled back when
 *       the subtask restarts, before it prepares anything new (see {@link
 *       PreparedTransactions#abortAfter});
 *   <li>a failure after the checkpoint completes keeps the committable in the restored state, and
 *       the committer commits it on restart; committing a transaction already committed is
 *       recognised and counted as done.
 * </ul>
 *
 * <p><b>At least once.</b> Each batch is its own committed transaction; a failure replays rows
 * since the last checkpoint, some of which may already be stored.
 *
 * <p>Memory is bounded by the batch bounds: when the buffer is full, {@link #write} sends it before
 * accepting more, which back-pressures the job while the database is slow.
 *
 * <p><b>Rows the database refuses.</b> With a rejected-rows table configured, a batch that fails as
 * data (SQLSTATE class 22 or 23: one bad row fails the whole COPY) is rolled back to a savepoint
 * taken before it and split in halves until each refused row stands alone; accepted rows are sent
 * again, each refused row goes to the rejected-rows table with the database's message, all in the
 * same transaction. So one bad row never fails the job, and exactly-once holds for every row either
 * way. The savepoint is taken only where a failure would take earlier batches of the open
 * transaction with it, and released right after the batch.
 */
public final class CopySinkWriter<T>
    implements StatefulSinkWriter<T, CopyWriterState>, CommittingSinkWriter<T, CopyCommittable> {

  private static final Logger LOG = LoggerFactory.getLogger(CopySinkWriter.class);

  private final CopySinkSettings settings;
  private final CopyRowEncoder<T> encoder;
  private final ConnectionFactory connections;
  private final WriterContext context;
  private final String copySql;
  private final BinaryCopyBuffer buffer;

  private final Counter rowsWritten;
  private final Counter batchesWritten;
  private final Counter retries;
  private final Counter rowsRejected;
  private final RejectedRows rejectedRows;

  /** The elements behind the buffered rows, to describe a refused row; only with rejectedRows. */
  private final List<T> bufferedElements = new ArrayList<>();

  private final Counter transactionsPrepared;
  private final Histogram batchLatencyMillis;

  private Connection connection;

  /** Statements to run after the rows written so far are committed (exactly-once only). */
  private final List<String> afterCommit = new ArrayList<>();

  /** Rows of the batch being sent that went to the rejected-rows table. */
  private int rejectedInBatch;

  /** Rows sent into the open transaction since the last prepare (exactly-once only). */
  private long rowsInTransaction;

  /** The highest checkpoint this writer has snapshotted; labels the next transaction. */
  private long lastCheckpointId;

  private long lastFlushMillis;

  public CopySinkWriter(
      CopySinkSettings settings,
      CopyRowEncoder<T> encoder,
      ConnectionFactory connections,
      ConnectionAction startupAction,
      WriterContext context)
      throws IOException {
    this(settings, encoder, connections, startupAction, null, context);
  }

  /**
   * @param periodicAction run by subtask 0 every {@link CopySinkSettings#periodicActionInterval()}
   *     on a connection of its own, such as table maintenance; a failure is logged and retried at
   *     the next interval, never failing the job
   */
  public CopySinkWriter(
      CopySinkSettings settings,
      CopyRowEncoder<T> encoder,
      ConnectionFactory connections,
      ConnectionAction startupAction,
      ConnectionAction periodicAction,
      WriterContext context)
      throws IOException {
    this.settings = settings;
    this.encoder = encoder;
    this.connections = connections;
    this.context = context;
    this.copySql = settings.copyStatement();
    this.buffer = new BinaryCopyBuffer((int) Math.min(settings.maxBufferedBytes() + 1024, 1 << 24));
    this.lastCheckpointId = context.restoredCheckpointId().orElse(0L);
    this.lastFlushMillis = context.timers().getCurrentProcessingTime();

    var metrics = context.metrics();
    rowsWritten = metrics.counter("copyRowsWritten");
    batchesWritten = metrics.counter("copyBatches");
    retries = metrics.counter("copyRetries");
    rowsRejected = metrics.counter("copyRowsRejected");
    rejectedRows =
        settings.rejectedRowsTable() == null
            ? null
            : new RejectedRows(settings.rejectedRowsTable());
    transactionsPrepared = metrics.counter("copyTransactionsPrepared");
    batchLatencyMillis =
        metrics.histogram("copyBatchLatencyMs", new DescriptiveStatisticsHistogram(500));
    metrics.gauge("copyBufferedRows", buffer::rows);
    metrics.gauge("copyBufferedBytes", buffer::sizeInBytes);

    try {
      connection = connectWithRetry();
      if (startupAction != null) {
        startupAction.run(connection);
      }
      if (rejectedRows != null) {
        rejectedRows.checkExists(connection);
      }
      if (settings.exactlyOnce()) {
        PreparedTransactions.checkEnabled(connection, context.parallelism());
        // Before this subtask prepares anything new: a new checkpoint starts only once every
        // restarted subtask is running again, i.e. past this point.
        PreparedTransactions.abortAfter(
            connection,
            settings.transactionIdPrefix(),
            context.restoredCheckpointId(),
            context.subtask(),
            context.parallelism());
      }
      connection.setAutoCommit(false);
    } catch (SQLException e) {
      closeQuietly();
      throw new IOException("COPY sink could not start: " + SqlFailures.describe(e), e);
    } catch (InterruptedException e) {
      closeQuietly();
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted while connecting", e);
    }
    scheduleFlush();
    if (periodicAction != null && context.subtask() == 0) {
      schedulePeriodic(periodicAction);
    }
  }

  @Override
  public void write(T element, Context ignored) throws IOException, InterruptedException {
    List<String> statements = encoder.afterCommitStatements(element);
    if (statements != null) {
      // Both guarantees run them in the committer once the checkpoint has completed: by then every
      // sink chained beside this one (the alerts table) has flushed what came before them too.
      afterCommit.addAll(statements);
      return;
    }
    encoder.encode(element, buffer);
    if (rejectedRows != null) {
      bufferedElements.add(element);
    }
    if (buffer.rows() >= settings.maxBufferedRows()
        || buffer.sizeInBytes() >= settings.maxBufferedBytes()) {
      sendBuffer();
    }
  }

  @Override
  public void flush(boolean endOfInput) throws IOException, InterruptedException {
    sendBuffer();
  }

  @Override
  public Collection<CopyCommittable> prepareCommit() throws IOException, InterruptedException {
    sendBuffer();
    // At least once, rows are committed batch by batch and only statements are left here.
    if (rowsInTransaction == 0 && afterCommit.isEmpty()) {
      return List.of();
    }
    if (rowsInTransaction == 0) {
      CopyCommittable statementsOnly = new CopyCommittable(null, 0, afterCommit);
      afterCommit.clear();
      return List.of(statementsOnly);
    }
    String name =
        TransactionIds.name(
            settings.transactionIdPrefix(), lastCheckpointId + 1, context.subtask());
    try (Statement statement = connection.createStatement()) {
      statement.execute("PREPARE TRANSACTION '" + name + "'");
    } catch (SQLException e) {
      throw new IOException(
          "Could not prepare the transaction of "
              + rowsInTransaction
              + " rows: "
              + SqlFailures.describe(e),
          e);
    }
    transactionsPrepared.inc();
    CopyCommittable committable = new CopyCommittable(name, rowsInTransaction, afterCommit);
    rowsInTransaction = 0;
    afterCommit.clear();
    return List.of(committable);
  }

  @Override
  public List<CopyWriterState> snapshotState(long checkpointId) {
    lastCheckpointId = Math.max(lastCheckpointId, checkpointId);
    return List.of();
  }

  /**
   * Sends the buffered rows as one COPY. A batch may be retried on a new connection only while it
   * is the first of its transaction (or, at least once, always): otherwise rows sent before it in
   * the same transaction died with the old connection, and only a restart from the checkpoint can
   * bring them back.
   */
  private void sendBuffer() throws IOException, InterruptedException {
    if (buffer.isEmpty()) {
      return;
    }
    long begin = System.nanoTime();
    long deadline = begin + settings.connectTimeout().toNanos();
    Backoff backoff = new Backoff(settings.initialBackoff(), settings.maxBackoff());
    while (true) {
      try {
        if (connection == null) {
          connection = connections.connect();
          connection.setAutoCommit(false);
        }
        sendBatch();
        if (!settings.exactlyOnce()) {
          connection.commit();
        }
        break;
      } catch (SQLException | IOException e) {
        SQLException sqlFailure = asSqlException(e);
        boolean canRetry =
            sqlFailure != null
                && SqlFailures.isTransient(sqlFailure)
                && (!settings.exactlyOnce() || rowsInTransaction == 0)
                && System.nanoTime() + backoff.nextPauseMillis() * 1_000_000L < deadline;
        long lostWithConnection = rowsInTransaction;
        closeQuietly();
        if (!canRetry) {
          throw new IOException(
              "COPY of "
                  + buffer.rows()
                  + " rows into "
                  + settings.table()
                  + " failed"
                  + (lostWithConnection > 0
                      ? " with "
                          + lostWithConnection
                          + " rows of this checkpoint already sent (the job restarts from its"
                          + " last checkpoint)"
                      : "")
                  + ": "
                  + SqlFailures.describe(sqlFailure),
              e);
        }
        retries.inc();
        LOG.warn(
            "COPY into {} failed ({}); retrying in {} ms",
            settings.table(),
            SqlFailures.describe(sqlFailure),
            backoff.nextPauseMillis());
        backoff.pause();
      }
    }
    int rows = buffer.rows();
    // Rows written to the rejected-rows table count too: they need the commit as much.
    rowsInTransaction += settings.exactlyOnce() ? rows : 0;
    rowsWritten.inc(rows - rejectedInBatch);
    rowsRejected.inc(rejectedInBatch);
    batchesWritten.inc();
    batchLatencyMillis.update((System.nanoTime() - begin) / 1_000_000L);
    buffer.clear();
    bufferedElements.clear();
    lastFlushMillis = context.timers().getCurrentProcessingTime();
  }

  /** Sends the whole buffer; with a rejected-rows table, isolates the rows the database refuses. */
  private void sendBatch() throws SQLException, IOException {
    rejectedInBatch = 0;
    if (rejectedRows == null) {
      copy(0, buffer.rows());
      return;
    }
    // Without a savepoint a refused row would abort the transaction and every batch sent into it
    // since the last checkpoint. The first batch of a transaction needs none: rolling back the
    // whole transaction loses nothing else.
    Savepoint before = rowsInTransaction > 0 ? connection.setSavepoint() : null;
    try {
      copy(0, buffer.rows());
    } catch (SQLException | IOException e) {
      SQLException failure = asSqlException(e);
      if (!SqlFailures.isRowData(failure)) {
        throw e;
      }
      if (before != null) {
        connection.rollback(before);
      } else {
        connection.rollback();
      }
      isolate(0, buffer.rows(), failure);
      if (before != null) {
        connection.releaseSavepoint(before);
      }
      return;
    }
    if (before != null) {
      connection.releaseSavepoint(before);
    }
  }

  /**
   * Rows {@code from} to {@code to} failed together with {@code failure}: sends each half under a
   * savepoint of its own and splits again what fails, down to single rows, which are rejected.
   */
  private void isolate(int from, int to, SQLException failure) throws SQLException, IOException {
    if (to - from == 1) {
      reject(from, failure);
      return;
    }
    int middle = (from + to) >>> 1;
    for (int[] half : new int[][] {{from, middle}, {middle, to}}) {
      Savepoint savepoint = connection.setSavepoint();
      try {
        copy(half[0], half[1]);
        connection.releaseSavepoint(savepoint);
      } catch (SQLException | IOException e) {
        SQLException halfFailure = asSqlException(e);
        if (!SqlFailures.isRowData(halfFailure)) {
          throw e;
        }
        connection.rollback(savepoint);
        isolate(half[0], half[1], halfFailure);
        // Rolled back to, a savepoint stays; released, the work after it joins the transaction.
        connection.releaseSavepoint(savepoint);
      }
    }
  }

  private void reject(int row, SQLException refusal) throws SQLException {
    String description = RejectedRows.storable(encoder.describe(bufferedElements.get(row)));
    LOG.warn(
        "{} refused a row ({}); it goes to {}: {}",
        settings.table(),
        SqlFailures.describe(refusal),
        settings.rejectedRowsTable(),
        description);
    rejectedRows.insert(
        connection, settings.table(), refusal, description, buffer.rowAsCopyStream(row));
    rejectedInBatch++;
  }

  private void copy(int from, int to) throws SQLException, IOException {
    buffer.sendTo(connection.unwrap(PGConnection.class).getCopyAPI().copyIn(copySql), from, to);
  }

  private void scheduleFlush() {
    long intervalMillis = Math.max(1, settings.flushInterval().toMillis());
    context
        .timers()
        .registerTimer(
            context.timers().getCurrentProcessingTime() + intervalMillis,
            time -> {
              if (time - lastFlushMillis >= intervalMillis) {
                sendBuffer();
              }
              scheduleFlush();
            });
  }

  private void schedulePeriodic(ConnectionAction action) {
    long intervalMillis = Math.max(1, settings.periodicActionInterval().toMillis());
    context
        .timers()
        .registerTimer(
            context.timers().getCurrentProcessingTime() + intervalMillis,
            time -> {
              try (Connection own = connections.connect()) {
                action.run(own);
              } catch (SQLException | RuntimeException e) {
                LOG.warn("Periodic maintenance failed; it runs again in {} ms", intervalMillis, e);
              }
              schedulePeriodic(action);
            });
  }

  private Connection connectWithRetry() throws SQLException, InterruptedException {
    long deadline = System.nanoTime() + settings.connectTimeout().toNanos();
    Backoff backoff = new Backoff(settings.initialBackoff(), settings.maxBackoff());
    while (true) {
      try {
        return connections.connect();
      } catch (SQLException e) {
        if (!SqlFailures.isTransient(e)
            || System.nanoTime() + backoff.nextPauseMillis() * 1_000_000L >= deadline) {
          throw e;
        }
        retries.inc();
        LOG.warn(
            "Cannot reach the database ({}); retrying in {} ms",
            SqlFailures.describe(e),
            backoff.nextPauseMillis());
        backoff.pause();
      }
    }
  }

  private static SQLException asSqlException(Exception e) {
    if (e instanceof SQLException) {
      return (SQLException) e;
    }
    if (e.getCause() instanceof SQLException) {
      return (SQLException) e.getCause();
    }
    return new SQLException(e.getMessage(), "08006", e);
  }

  /** Rows buffered and not yet sent; for tests. */
  int bufferedRows() {
    return buffer.rows();
  }

  private void closeQuietly() {
    connection = Connections.closeQuietly(connection);
    // Whatever the closed connection held in its open transaction is gone with it.
    rowsInTransaction = 0;
  }

  @Override
  public void close() {
    // An open, unprepared transaction rolls back when its connection closes; prepared ones stay
    // for the committer or for recovery.
    closeQuietly();
  }
}
