package io.placebrain.collector.copysink.committer;

import io.placebrain.collector.copysink.ConnectionFactory;
import io.placebrain.collector.copysink.CopySinkSettings;
import io.placebrain.collector.copysink.internal.Backoff;
import io.placebrain.collector.copysink.internal.Connections;
import io.placebrain.collector.copysink.internal.PreparedTransactions;
import io.placebrain.collector.copysink.internal.SqlFailures;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits the prepared transactions of completed checkpoints. Each failure is sorted into one of:
 *
 * <ul>
 *   <li><b>already committed</b>: the name is not prepared any more. Recovery only rolls back
 *       transactions of checkpoints after the restored one, and this committable belongs to a
 *       completed checkpoint, so it was committed before a restart: done.
 *   <li><b>transient</b> (connection lost, server shutting down, serialization failure): retried
 *       here with backoff, then handed back to Flink to retry later; the prepared transaction waits
 *       in the database meanwhile, and a restart commits it from the checkpoint.
 *   <li><b>permanent</b> (permissions, anything unknown): the job fails with the reason, since
 *       retrying cannot help and skipping would lose the rows.
 * </ul>
 */
public final class CopyCommitter implements Committer<CopyCommittable> {

  private static final Logger LOG = LoggerFactory.getLogger(CopyCommitter.class);

  private final CopySinkSettings settings;
  private final ConnectionFactory connections;
  private final Counter committed;
  private final Counter alreadyCommitted;
  private final Counter retries;
  private final Counter rowsCommitted;
  private Connection connection;

  public CopyCommitter(
      CopySinkSettings settings, ConnectionFactory connections, MetricGroup metrics) {
    this.settings = settings;
    this.connections = connections;
    this.committed = metrics.counter("copyTransactionsCommitted");
    this.alreadyCommitted = metrics.counter("copyTransactionsAlreadyCommitted");
    this.retries = metrics.counter("copyCommitRetries");
    this.rowsCommitted = metrics.counter("copyRowsCommitted");
  }

  @Override
  public void commit(Collection<CommitRequest<CopyCommittable>> requests)
      throws InterruptedException {
    for (CommitRequest<CopyCommittable> request : requests) {
      commitOne(request);
    }
  }

  private void commitOne(CommitRequest<CopyCommittable> request) throws InterruptedException {
    CopyCommittable committable = request.getCommittable();
    Backoff backoff = new Backoff(settings.initialBackoff(), settings.maxBackoff());
    for (int attempt = 1; ; attempt++) {
      try {
        if (connection == null) {
          connection = connections.connect();
        }
        boolean wasCommitted = false;
        if (committable.transactionId() != null) {
          try {
            PreparedTransactions.commit(connection, committable.transactionId());
            committed.inc();
            rowsCommitted.inc(committable.rows());
          } catch (SQLException e) {
            if (!SqlFailures.isUnknownPreparedTransaction(e)) {
              throw e;
            }
            LOG.info(
                "Transaction {} is not prepared any more: committed before a restart",
                committable.transactionId());
            alreadyCommitted.inc();
            wasCommitted = true;
          }
        }
        // Runs again after a restart even if it ran before: the statements are idempotent.
        runAfterCommit(committable);
        if (wasCommitted) {
          request.signalAlreadyCommitted();
        }
        return;
      } catch (SQLException e) {
        if (!SqlFailures.isTransient(e)) {
          request.signalFailedWithKnownReason(
              new IllegalStateException(
                  "Cannot complete prepared transaction "
                      + committable.transactionId()
                      + " ("
                      + committable.rows()
                      + " rows) into "
                      + settings.table()
                      + ": "
                      + SqlFailures.describe(e)
                      + ". It stays prepared in the database; fix the cause and restart the job"
                      + " from its last checkpoint to commit it.",
                  e));
          return;
        }
        closeConnection();
        retries.inc();
        if (attempt >= settings.commitAttempts()) {
          LOG.warn(
              "Commit of {} failed {} times ({}); Flink will retry it later",
              committable.transactionId(),
              attempt,
              SqlFailures.describe(e));
          request.retryLater();
          return;
        }
        LOG.warn(
            "Commit of {} failed ({}); retrying in {} ms",
            committable.transactionId(),
            SqlFailures.describe(e),
            backoff.nextPauseMillis());
        backoff.pause();
      }
    }
  }

  private void runAfterCommit(CopyCommittable committable) throws SQLException {
    if (committable.afterCommit().isEmpty()) {
      return;
    }
    if (!connection.getAutoCommit()) {
      connection.setAutoCommit(true);
    }
    try (java.sql.Statement statement = connection.createStatement()) {
      for (String sql : committable.afterCommit()) {
        statement.execute(sql);
      }
    }
  }

  private void closeConnection() {
    connection = Connections.closeQuietly(connection);
  }

  @Override
  public void close() {
    closeConnection();
  }
}
