package io.placebrain.flink.connector.postgres.copy.writer;

import io.placebrain.flink.connector.postgres.copy.AfterCommitAction;
import io.placebrain.flink.connector.postgres.copy.AfterCommitStatement;
import io.placebrain.flink.connector.postgres.copy.BinaryCopyBuffer;
import io.placebrain.flink.connector.postgres.copy.ConnectionAction;
import io.placebrain.flink.connector.postgres.copy.ConnectionFactory;
import io.placebrain.flink.connector.postgres.copy.CopyRowEncoder;
import io.placebrain.flink.connector.postgres.copy.CopySinkSettings;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import io.placebrain.flink.connector.postgres.copy.internal.Backoff;
import io.placebrain.flink.connector.postgres.copy.internal.Connections;
import io.placebrain.flink.connector.postgres.copy.internal.PreparedTransactions;
import io.placebrain.flink.connector.postgres.copy.internal.RejectedRows;
import io.placebrain.flink.connector.postgres.copy.internal.SinkProgress;
import io.placebrain.flink.connector.postgres.copy.internal.SqlFailures;
import io.placebrain.flink.connector.postgres.copy.internal.TransactionIds;
import io.placebrain.flink.connector.postgres.copy.internal.TransactionOwnership;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
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
 * <p>Before it touches any prepared transaction, the writer's connection takes this subtask's share
 * of the transaction prefix ({@link TransactionOwnership}), so a second job with the same prefix
 * fails instead of interfering. A start without a restored checkpoint rolls back only its own job's
 * leftovers and refuses those of another job; a restore with another prefix rolls back what the old
 * prefix left after the checkpoint.
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
@Internal
public final class CopySinkWriter<T>
    implements StatefulSinkWriter<T, CopyWriterState>, CommittingSinkWriter<T, CopyCommittable> {

  private static final Logger LOG = LoggerFactory.getLogger(CopySinkWriter.class);

  /** Unsent buffered bytes that make the writer stream them into the batch's COPY (~1,000 rows). */
  static final int STREAM_CHUNK_BYTES = 64 * 1024;

  private final CopySinkSettings settings;
  private final CopyRowEncoder<T> encoder;

  /**
   * Connections for writing; exactly once, each takes this subtask's ownership of the transaction
   * prefix before it is used (see {@link TransactionOwnership}).
   */
  private final ConnectionFactory connections;

  /** Connections as they come, for work beside the writing such as maintenance. */
  private final ConnectionFactory plainConnections;

  private final WriterContext context;
  private final String copySql;
  private final BinaryCopyBuffer buffer;

  private final Counter rowsWritten;
  private final Counter batchesWritten;
  private final Counter retries;
  private final Counter rowsRejected;
  private final RejectedRows rejectedRows;
  private final SinkProgress progress;

  private final UnaryOperator<T> retain;

  /** The elements behind the buffered rows, to describe a refused row; only with rejectedRows. */
  private final List<T> bufferedElements = new ArrayList<>();

  private final Counter transactionsPrepared;
  private final Counter recordsSent;
  private final Counter bytesSent;
  private final Counter sendErrors;

  /** How long the last batch took to send, in milliseconds. */
  private volatile long lastSendMillis;

  /** Prepared transactions of other prefixes that no job writes with, found at start. */
  private long abandonedTransactions;

  private final Histogram batchLatencyMillis;

  private Connection connection;

  /** Statements to run after the rows written so far are committed (exactly-once only). */
  private final List<AfterCommitAction> afterCommit = new ArrayList<>();

  /**
   * The COPY of the batch being buffered, opened once {@link #STREAM_CHUNK_BYTES} are waiting, so
   * the database stores a batch while its later rows are still being encoded; null until then.
   */
  private CopyIn streamedCopy;

  /** Bytes of the buffer already written into {@link #streamedCopy}. */
  private int streamedBytes;

  /** Taken before {@link #streamedCopy} opened, where a refused row must not take earlier rows. */
  private Savepoint streamedSavepoint;

  /** Why streaming the batch failed; the batch's send deals with it as with any failed COPY. */
  private Exception streamFailure;

  /** Time spent streaming the batch being buffered: part of its send time in the metrics. */
  private long streamingNanos;

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
    this(settings, encoder, connections, startupAction, periodicAction, context, e -> e);
  }

  /**
   * @param retain how to keep an element beyond its {@link #write} call, to describe it should the
   *     database refuse its row: a copy where Flink reuses objects (the next record would overwrite
   *     it), the element itself otherwise
   */
  public CopySinkWriter(
      CopySinkSettings settings,
      CopyRowEncoder<T> encoder,
      ConnectionFactory connections,
      ConnectionAction startupAction,
      ConnectionAction periodicAction,
      WriterContext context,
      UnaryOperator<T> retain)
      throws IOException {
    this.retain = retain;
    this.settings = settings;
    this.encoder = encoder;
    this.plainConnections = connections;
    this.connections = settings.exactlyOnce() ? this::connectAsOwner : connections;
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
    progress =
        settings.exactlyOnce() && settings.progressTable() != null
            ? new SinkProgress(settings.progressTable())
            : null;
    transactionsPrepared = metrics.counter("copyTransactionsPrepared");
    batchLatencyMillis =
        metrics.histogram("copyBatchLatencyMs", new DescriptiveStatisticsHistogram(500));
    // Flink's standard sink metrics: the web UI's "Records Sent" and "Bytes Sent".
    recordsSent = metrics.getNumRecordsSendCounter();
    bytesSent = metrics.getNumBytesSendCounter();
    sendErrors = metrics.getNumRecordsSendErrorsCounter();
    metrics.setCurrentSendTimeGauge(() -> lastSendMillis);
    metrics.gauge("copyBufferedRows", buffer::rows);
    metrics.gauge("copyBufferedBytes", buffer::sizeInBytes);
    metrics.gauge("copyAbandonedPreparedTransactions", () -> abandonedTransactions);

    try {
      connection = connectWithRetry(plainConnections);
      if (settings.exactlyOnce()) {
        PreparedTransactions.checkEnabled(connection, context.parallelism());
        // Nothing of the prefix is touched before this subtask owns it: a second job with the
        // same prefix fails here, before it could roll back the first job's transactions.
        takeOwnership(connection);
        if (context.restoredCheckpointId().isEmpty()) {
          refuseLeftoversOfAnotherJob(connection);
          refuseProgressOfAnotherJob(connection);
        }
        // Before this subtask prepares anything new: a new checkpoint starts only once every
        // restarted subtask is running again, i.e. past this point. And before the startup
        // action: the leftovers hold locks on the table (rows they inserted), and DDL of the
        // startup action would wait for them, which only this rollback releases.
        PreparedTransactions.abortAfter(
            connection,
            settings.transactionIdPrefix(),
            context.restoredCheckpointId(),
            context.subtask(),
            context.parallelism());
        recoverRestoredPrefixes(connection);
        warnOfAbandonedPrefixes(connection);
      }
      if (startupAction != null) {
        runStartupAction(startupAction);
      }
      if (rejectedRows != null) {
        rejectedRows.checkExists(connection);
      }
      if (progress != null) {
        progress.checkExists(connection);
      }
      prepareForWriting(connection);
    } catch (TransactionOwnership.PrefixInUseException e) {
      closeQuietly();
      IOException failure = new IOException("COPY sink could not start: " + e.getMessage(), e);
      if (context.restoredCheckpointId().isPresent()) {
        // A job recovering its own checkpoint may be the prefix's rightful owner, whose lock a
        // job started just while this subtask failed over took: its restarts outlast that job.
        throw failure;
      }
      // A new job: a restart cannot help while the other job runs, it would only loop.
      throw new SuppressRestartsException(failure);
    } catch (SQLException e) {
      closeQuietly();
      throw new IOException("COPY sink could not start: " + SqlFailures.describe(e), e);
    } catch (InterruptedException e) {
      closeQuietly();
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted while connecting", e);
    } catch (PreparedTransactions.DisabledException e) {
      // The message says what to set; the server needs a restart for it, the job cannot help.
      closeQuietly();
      throw new SuppressRestartsException(e);
    } catch (RuntimeException e) {
      closeQuietly();
      throw e;
    }
    scheduleFlush();
    if (periodicAction != null && context.subtask() == 0) {
      schedulePeriodic(periodicAction);
    }
  }

  @Override
  public void write(T element, Context ignored) throws IOException, InterruptedException {
    List<AfterCommitAction> actions = afterCommitActions(element);
    if (actions != null) {
      for (AfterCommitAction action : actions) {
        checkDeclared(action);
      }
      // Both guarantees run them in the committer once the checkpoint has completed: by then every
      // sink chained beside this one has flushed what came before them too.
      afterCommit.addAll(actions);
      return;
    }
    encoder.encode(element, buffer);
    if (rejectedRows != null) {
      bufferedElements.add(retain.apply(element));
    }
    if (buffer.rows() >= settings.maxBufferedRows()
        || buffer.sizeInBytes() >= settings.maxBufferedBytes()) {
      sendBuffer();
    } else if (buffer.sizeInBytes() - streamedBytes >= STREAM_CHUNK_BYTES) {
      streamBuffered();
    }
  }

  /**
   * Writes the rows buffered since the last call into the batch's COPY, opening it first. Only on
   * an open connection: connecting, and every failure, is left to {@link #sendBuffer}, which sends
   * the batch again from its first row where it can retry.
   */
  private void streamBuffered() {
    if (streamFailure != null || connection == null) {
      return;
    }
    long began = System.nanoTime();
    try {
      if (streamedCopy == null) {
        streamedSavepoint = savepointBeforeBatch();
        streamedCopy = connection.unwrap(PGConnection.class).getCopyAPI().copyIn(copySql);
      }
      streamedBytes = buffer.stream(streamedCopy, streamedBytes);
    } catch (SQLException | IOException e) {
      streamFailure = e;
    } finally {
      streamingNanos += System.nanoTime() - began;
    }
  }

  /**
   * Puts a connection in a transaction of its own and without a statement timeout: a streamed COPY
   * stays open while its batch fills (up to the flush interval, longer with slow input), which a
   * role's or database's {@code statement_timeout} would cancel, failing every batch after a
   * transaction's first. The driver's socket timeout and TCP keepalives bound a lost server
   * instead.
   */
  private static void prepareForWriting(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET statement_timeout = 0");
    }
    connection.setAutoCommit(false);
  }

  /**
   * Where a refused row would abort the transaction and every batch sent into it since the last
   * checkpoint, a savepoint before the batch; the first batch of a transaction needs none (rolling
   * back the whole transaction loses nothing else), nor does a sink without a rejected-rows table.
   */
  private Savepoint savepointBeforeBatch() throws SQLException {
    return rejectedRows != null && rowsInTransaction > 0 ? connection.setSavepoint() : null;
  }

  /**
   * The element's actions. A value a parameter refuses (a NUL in a text, say) comes from the input,
   * which a restart reads again, failing again: so the job fails without restarts, naming the
   * element, before the action can enter a checkpoint. The encoder must clean such values.
   */
  private List<AfterCommitAction> afterCommitActions(T element) {
    try {
      return encoder.afterCommitActions(element);
    } catch (IllegalArgumentException e) {
      throw new SuppressRestartsException(
          new IllegalStateException(
              "The encoder could not make the after-commit actions of "
                  + RejectedRows.storable(encoder.describe(element))
                  + ": "
                  + e.getMessage()
                  + ". The input would fail the same way after every restart; make the encoder"
                  + " clean or skip such values.",
              e));
    }
  }

  /**
   * An action of a statement the encoder does not declare could never run: a mistake in the encoder
   * that no restart mends, so it fails the job without restarts instead of entering a checkpoint.
   */
  private void checkDeclared(AfterCommitAction action) {
    AfterCommitStatement statement = settings.afterCommitStatements().get(action.statement());
    if (statement == null) {
      throw new SuppressRestartsException(
          new IllegalStateException(
              "The encoder yielded an action of after-commit statement '"
                  + action.statement()
                  + "', which its afterCommitStatements() does not declare (it declares "
                  + settings.afterCommitStatements().keySet()
                  + ")"));
    }
    if (statement.parameterCount() != action.parameters().size()) {
      throw new SuppressRestartsException(
          new IllegalStateException(
              "The encoder yielded an action of after-commit statement '"
                  + action.statement()
                  + "' with "
                  + action.parameters().size()
                  + " parameters; its declaration takes "
                  + statement.parameterCount()
                  + ": "
                  + statement.sql()));
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
            settings.transactionIdPrefix(),
            lastCheckpointId + 1,
            context.subtask(),
            TransactionIds.jobTag(context.jobId()));
    long xid;
    try (Statement statement = connection.createStatement()) {
      // The transaction already has an id (its rows); the committer asks the server about it if it
      // finds the name no longer prepared.
      try (java.sql.ResultSet id = statement.executeQuery("SELECT txid_current()")) {
        id.next();
        xid = id.getLong(1);
      }
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
    CopyCommittable committable = new CopyCommittable(name, rowsInTransaction, afterCommit, xid);
    rowsInTransaction = 0;
    afterCommit.clear();
    return List.of(committable);
  }

  @Override
  public List<CopyWriterState> snapshotState(long checkpointId) {
    lastCheckpointId = Math.max(lastCheckpointId, checkpointId);
    return settings.exactlyOnce()
        ? List.of(
            new CopyWriterState(
                settings.transactionIdPrefix(), TransactionIds.jobTag(context.jobId())))
        : List.of();
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
          prepareForWriting(connection);
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
          sendErrors.inc(buffer.rows());
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
    long sendMillis = (System.nanoTime() - begin + streamingNanos) / 1_000_000L;
    streamingNanos = 0;
    lastSendMillis = sendMillis;
    recordsSent.inc(rows - rejectedInBatch);
    bytesSent.inc(buffer.sizeInBytes());
    sendErrors.inc(rejectedInBatch);
    // Rows written to the rejected-rows table count too: they need the commit as much.
    rowsInTransaction += settings.exactlyOnce() ? rows : 0;
    rowsWritten.inc(rows - rejectedInBatch);
    rowsRejected.inc(rejectedInBatch);
    batchesWritten.inc();
    batchLatencyMillis.update(sendMillis);
    buffer.clear();
    bufferedElements.clear();
    lastFlushMillis = context.timers().getCurrentProcessingTime();
  }

  /** Sends the whole buffer; with a rejected-rows table, isolates the rows the database refuses. */
  private void sendBatch() throws SQLException, IOException {
    rejectedInBatch = 0;
    Savepoint before = null;
    try {
      if (streamedCopy != null || streamFailure != null) {
        before = streamedSavepoint;
        finishStreamedBatch();
      } else {
        before = savepointBeforeBatch();
        copy(0, buffer.rows());
      }
    } catch (SQLException | IOException e) {
      SQLException failure = asSqlException(e);
      if (rejectedRows == null || !SqlFailures.isRowData(failure)) {
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

  /** Ends the batch's streamed COPY, or fails as its streaming did. */
  private void finishStreamedBatch() throws SQLException, IOException {
    CopyIn copy = streamedCopy;
    int sent = streamedBytes;
    Exception failure = streamFailure;
    forgetStream();
    if (failure instanceof SQLException) {
      throw (SQLException) failure;
    }
    if (failure != null) {
      throw (IOException) failure;
    }
    buffer.finishStream(copy, sent);
  }

  private void forgetStream() {
    streamedCopy = null;
    streamedBytes = 0;
    streamedSavepoint = null;
    streamFailure = null;
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
              try (Connection own = plainConnections.connect()) {
                action.run(own);
              } catch (SQLException | RuntimeException e) {
                LOG.warn("Periodic maintenance failed; it runs again in {} ms", intervalMillis, e);
              }
              schedulePeriodic(action);
            });
  }

  /**
   * Runs the startup action. Where it fails with SQLSTATE 55000 (object not in prerequisite state,
   * e.g. an extension the server must preload first), the server needs reconfiguring: the job fails
   * without restarts, which could only loop.
   */
  private void runStartupAction(ConnectionAction action) throws SQLException {
    try {
      action.run(connection);
    } catch (SQLException e) {
      if ("55000".equals(e.getSQLState())) {
        closeQuietly();
        throw new SuppressRestartsException(
            new IOException("COPY sink could not start: " + SqlFailures.describe(e), e));
      }
      throw e;
    }
  }

  /**
   * Whether leftovers and progress tagged with this job's own tag are its own earlier attempt's: a
   * start without state after a failure before the first checkpoint completed (Flink counts the
   * attempt up). A first attempt finding its own tag is another job with the same id, as
   * application mode gives a job started again under the same cluster id.
   */
  private boolean isRestartedAttempt() {
    return context.attemptNumber() > 0;
  }

  /**
   * Without a restored checkpoint, this subtask's prepared leftovers can be rolled back only when
   * they are this job's own (an earlier attempt that failed before any checkpoint completed: none
   * of them belongs to a completed checkpoint). Those of another job (cancelled, then this one
   * started with {@code flink run} without {@code -s}) may belong to a checkpoint that completed
   * but was not committed yet; only that job's checkpoints tell, so the start is refused.
   */
  /**
   * A start without state under a prefix another job committed rows with: its sources would start
   * from where they say (the consumer group's offsets), which need not be where that job's stored
   * rows end, so rows would be stored twice or lost. Only that job's checkpoint knows.
   */
  private void refuseProgressOfAnotherJob(Connection owner) throws SQLException {
    if (progress == null) {
      return;
    }
    String prefix = settings.transactionIdPrefix();
    List<String> others =
        progress.committed(
            owner, prefix, isRestartedAttempt() ? TransactionIds.jobTag(context.jobId()) : null);
    if (others.isEmpty()) {
      return;
    }
    throw new SuppressRestartsException(
        new IOException(
            "COPY sink could not start: rows were already committed under transaction prefix "
                + prefix
                + " by another job ("
                + others.get(0)
                + (others.size() > 1 ? ", and " + (others.size() - 1) + " more" : "")
                + "), and this job starts without a checkpoint or savepoint. Its sources would"
                + " start from the consumer group's offsets, which need not match what is"
                + " stored: rows would be stored twice or lost. Resume from that job's last"
                + " checkpoint or savepoint (flink run -s <path>). To start afresh anyway (e.g."
                + " the group's offsets are known to be right), run DELETE FROM "
                + settings.progressTable()
                + " WHERE prefix = '"
                + prefix
                + "', or give this job its own sink.transaction-prefix."));
  }

  private void refuseLeftoversOfAnotherJob(Connection owner) throws SQLException {
    String prefix = settings.transactionIdPrefix();
    String ours = TransactionIds.jobTag(context.jobId());
    List<String> foreign = new ArrayList<>();
    for (String name :
        PreparedTransactions.responsibleFor(
            owner, prefix, context.subtask(), context.parallelism())) {
      boolean ownAttempts =
          isRestartedAttempt()
              && TransactionIds.jobTagOf(prefix, name).map(ours::equals).orElse(false);
      if (!ownAttempts) {
        foreign.add(name);
      }
    }
    if (foreign.isEmpty()) {
      return;
    }
    throw new SuppressRestartsException(
        new IOException(
            "COPY sink could not start: transaction prefix "
                + prefix
                + " has "
                + foreign.size()
                + " prepared transaction(s) left by an earlier job (e.g. "
                + foreign.get(0)
                + ") and this job starts without a checkpoint or savepoint, so it cannot tell"
                + " whether they belong to a completed checkpoint (to commit) or not (to roll"
                + " back). Resume from the earlier job's last checkpoint or savepoint (flink run"
                + " -s <path>) to resolve them exactly. To start afresh instead, roll them back"
                + " first (their rows were never visible; rows of a completed checkpoint whose"
                + " Kafka offsets were committed are then not read again): SELECT gid FROM"
                + " pg_prepared_xacts WHERE gid LIKE '"
                + prefix
                + ":%', then ROLLBACK PREPARED '<gid>' for each."));
  }

  /**
   * After a restore with another {@code sink.transaction-prefix}: rolls back what the old prefix
   * left after the restored checkpoint, as {@link PreparedTransactions#abortAfter} does for the
   * current one (its transactions of the restored checkpoint or before are in the committer's
   * restored state and get committed). Of every former subtask, not only those this subtask takes
   * over: the restored state is split among the subtasks without regard to who owned what, so only
   * some of them learn the old prefix, and a rollback done twice is harmless.
   *
   * <p>Only transactions of the jobs the restored state names (by their tag) are rolled back: the
   * old prefix may since have been used by another job, whose leftovers may belong to its completed
   * checkpoints. State of versions that recorded no tag leaves no choice but all of them. Left
   * alone entirely while a running job still writes with the old prefix (it holds its locks).
   */
  private void recoverRestoredPrefixes(Connection owner) throws SQLException {
    for (var restored : context.restoredPrefixes().entrySet()) {
      String previous = restored.getKey();
      if (previous.equals(settings.transactionIdPrefix())) {
        continue;
      }
      List<String> users = TransactionOwnership.sessionsWriting(owner, previous);
      if (!users.isEmpty()) {
        LOG.warn(
            "The restored state names transaction prefix {}, which this job no longer uses; a"
                + " running job still writes with it ({}), so its prepared transactions are left"
                + " to that job",
            previous,
            users);
        continue;
      }
      List<String> aborted =
          PreparedTransactions.abortAfter(
              owner, previous, context.restoredCheckpointId(), 0, 1, restored.getValue());
      LOG.info(
          "Transaction prefix changed from {} to {}: rolled back {} transaction(s) of the old"
              + " prefix left after checkpoint {}",
          previous,
          settings.transactionIdPrefix(),
          aborted.size(),
          context.restoredCheckpointId().orElse(0L));
    }
  }

  /**
   * Prepared transactions of another prefix that no running job writes with and no restored state
   * accounts for: left by a job whose prefix was changed without its state (a start without a
   * checkpoint, or a restore from a version that did not record its prefix), or by another job that
   * used a restored old prefix since (say one that went on from the same savepoint). Nothing here
   * can tell whether they belong to a completed checkpoint, so they are reported, not resolved:
   * until someone does, they hold their row locks and keep VACUUM from cleaning up after them.
   */
  private void warnOfAbandonedPrefixes(Connection owner) throws SQLException {
    for (var entry :
        PreparedTransactions.ofOtherPrefixes(owner, settings.transactionIdPrefix()).entrySet()) {
      String prefix = entry.getKey();
      Set<String> restoredTags = context.restoredPrefixes().get(prefix);
      List<String> abandoned = new ArrayList<>();
      if (restoredTags == null) {
        // A prefix this subtask's state does not name: reported once, by subtask 0.
        if (context.subtask() == 0) {
          abandoned.addAll(entry.getValue());
        }
      } else {
        // Of a restored prefix, those of the restored jobs were rolled back or belong to the
        // committer's state; those of any other job that used it are left, and reported.
        for (String name : entry.getValue()) {
          if (!restoredTags.isEmpty()
              && !TransactionIds.jobTagOf(prefix, name).map(restoredTags::contains).orElse(false)) {
            abandoned.add(name);
          }
        }
      }
      if (abandoned.isEmpty() || !TransactionOwnership.sessionsWriting(owner, prefix).isEmpty()) {
        continue;
      }
      abandonedTransactions += abandoned.size();
      LOG.warn(
          "{} prepared transaction(s) of transaction prefix {} (e.g. {}) are left in the database"
              + " by a job no running job or restored state accounts for. They hold locks and keep"
              + " VACUUM from cleaning up until resolved, and nothing here can tell whether they"
              + " belong to a completed checkpoint. If that job's checkpoints are known, resume"
              + " from its last one (flink run -s <path>) to resolve them exactly; otherwise roll"
              + " them back: SELECT gid FROM pg_prepared_xacts WHERE gid LIKE '{}:%', then"
              + " ROLLBACK PREPARED '<gid>' for each.",
          abandoned.size(), prefix, abandoned.get(0), prefix);
    }
  }

  /**
   * A connection that owns this subtask's share of the transaction prefix, for the connection's
   * lifetime; used for every connection the writer writes with, so a reconnect takes it again.
   */
  private Connection connectAsOwner() throws SQLException {
    Connection owned = plainConnections.connect();
    try {
      takeOwnership(owned);
      return owned;
    } catch (SQLException | RuntimeException e) {
      Connections.closeQuietly(owned);
      throw e;
    } catch (InterruptedException e) {
      Connections.closeQuietly(owned);
      Thread.currentThread().interrupt();
      throw new SQLException("Interrupted while taking over the transaction prefix", e);
    }
  }

  private void takeOwnership(Connection owner) throws SQLException, InterruptedException {
    if (context.jobId() != null) {
      TransactionOwnership.identify(
          owner,
          TransactionOwnership.applicationName(
              settings.applicationName(),
              context.jobId(),
              context.subtask(),
              context.attemptNumber()));
    }
    TransactionOwnership.boundDeadPeerDetection(owner);
    TransactionOwnership.acquire(
        owner,
        settings.transactionIdPrefix(),
        context.subtask(),
        context.parallelism(),
        settings.applicationName(),
        context.jobId(),
        context.attemptNumber(),
        settings.connectTimeout());
  }

  private Connection connectWithRetry(ConnectionFactory factory)
      throws SQLException, InterruptedException {
    long deadline = System.nanoTime() + settings.connectTimeout().toNanos();
    Backoff backoff = new Backoff(settings.initialBackoff(), settings.maxBackoff());
    while (true) {
      try {
        return factory.connect();
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

  /** Prepared transactions of abandoned prefixes found at start; for tests. */
  long abandonedPreparedTransactions() {
    return abandonedTransactions;
  }

  /** Rows buffered and not yet sent; for tests. */
  int bufferedRows() {
    return buffer.rows();
  }

  private void closeQuietly() {
    connection = Connections.closeQuietly(connection);
    // A COPY streamed on the closed connection is gone too; the batch is sent again whole.
    forgetStream();
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
