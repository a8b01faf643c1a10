package io.placebrain.flink.connector.postgres.copy.committer;

import io.placebrain.flink.connector.postgres.copy.AfterCommitAction;
import io.placebrain.flink.connector.postgres.copy.AfterCommitStatement;
import io.placebrain.flink.connector.postgres.copy.ConnectionFactory;
import io.placebrain.flink.connector.postgres.copy.CopySinkSettings;
import io.placebrain.flink.connector.postgres.copy.internal.Backoff;
import io.placebrain.flink.connector.postgres.copy.internal.Connections;
import io.placebrain.flink.connector.postgres.copy.internal.PreparedTransactions;
import io.placebrain.flink.connector.postgres.copy.internal.SinkProgress;
import io.placebrain.flink.connector.postgres.copy.internal.SqlFailures;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Collection;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits the prepared transactions of completed checkpoints, then runs their after-commit
 * statements. Each failure is sorted into one of:
 *
 * <ul>
 *   <li><b>already committed</b>: the name is not prepared any more. Recovery only rolls back
 *       transactions of checkpoints after the restored one, and this committable belongs to a
 *       completed checkpoint, so it was committed before a restart: done. Its after-commit
 *       statements run again (they are idempotent), since a failure may have struck between the
 *       commit and them.
 *   <li><b>transient</b> (connection lost, server shutting down, serialization failure, a statement
 *       cancelled by a timeout): retried here with backoff. When the attempts are used up the job
 *       fails with the database's reason; the prepared transaction waits in the database, and the
 *       restarted job commits it from its checkpoint.
 *   <li><b>permanent</b> (permissions, a transaction of another database, anything unknown): the
 *       job fails with the database's reason, since retrying cannot help. The committable stays in
 *       the checkpoint and the transaction stays prepared; once the cause is fixed, a restart from
 *       the checkpoint commits it.
 * </ul>
 *
 * <p>A commit that cannot complete always fails the job by throwing from {@link #commit}: never
 * through {@code CommitRequest.signalFailedWithKnownReason}, which in Flink 2.x only counts the
 * failure and drops the committable (its rows would stay prepared, never visible, and the job would
 * carry on), and never through {@code retryLater}, which Flink retries back to back without a pause
 * and then fails without the reason.
 */
@Internal
public final class CopyCommitter implements Committer<CopyCommittable> {

  private static final Logger LOG = LoggerFactory.getLogger(CopyCommitter.class);

  private final CopySinkSettings settings;
  private final ConnectionFactory connections;
  private final Counter committed;
  private final Counter alreadyCommitted;
  private final Counter retries;
  private final Counter rowsCommitted;
  private final SinkProgress progress;
  private Connection connection;

  public CopyCommitter(
      CopySinkSettings settings, ConnectionFactory connections, MetricGroup metrics) {
    this.settings = settings;
    this.connections = connections;
    this.committed = metrics.counter("copyTransactionsCommitted");
    this.alreadyCommitted = metrics.counter("copyTransactionsAlreadyCommitted");
    this.retries = metrics.counter("copyCommitRetries");
    this.rowsCommitted = metrics.counter("copyRowsCommitted");
    this.progress =
        settings.exactlyOnce() && settings.progressTable() != null
            ? new SinkProgress(settings.progressTable())
            : null;
  }

  @Override
  public void commit(Collection<CommitRequest<CopyCommittable>> requests)
      throws IOException, InterruptedException {
    for (CommitRequest<CopyCommittable> request : requests) {
      commitOne(request);
    }
  }

  private void commitOne(CommitRequest<CopyCommittable> request)
      throws IOException, InterruptedException {
    CopyCommittable committable = request.getCommittable();
    // Every action must be runnable before anything commits or runs: a job failing after some
    // actions ran would leave their effects without the rest.
    for (AfterCommitAction action : committable.afterCommit()) {
      declaredStatement(committable, action);
    }
    Backoff backoff = new Backoff(settings.initialBackoff(), settings.maxBackoff());
    // Whether an earlier attempt of this call committed: a retry then finds the name gone, which
    // is this call's own commit, not one from before a restart.
    boolean committedHere = false;
    for (int attempt = 1; ; attempt++) {
      boolean afterCommit = false;
      try {
        if (connection == null) {
          connection = connections.connect();
        }
        boolean wasCommitted = false;
        if (committable.transactionId() != null && !committedHere) {
          try {
            PreparedTransactions.commit(connection, committable.transactionId());
            committedHere = true;
            committed.inc();
            rowsCommitted.inc(committable.rows());
          } catch (SQLException e) {
            if (!SqlFailures.isUnknownPreparedTransaction(e)) {
              throw e;
            }
            checkCommittedBefore(committable);
            LOG.info(
                "Transaction {} is not prepared any more: committed before a restart",
                committable.transactionId());
            alreadyCommitted.inc();
            wasCommitted = true;
          }
        }
        // Runs again after a restart even if it ran before: the statements are idempotent.
        afterCommit = true;
        if (progress != null && committable.transactionId() != null) {
          progress.recordCommitted(connection, committable.transactionId());
        }
        runAfterCommit(committable);
        if (wasCommitted) {
          request.signalAlreadyCommitted();
        }
        return;
      } catch (SQLException e) {
        closeConnection();
        boolean retry = SqlFailures.isTransient(e) && attempt < settings.commitAttempts();
        if (!retry) {
          throw new IOException(failureMessage(committable, afterCommit, attempt, e), e);
        }
        retries.inc();
        LOG.warn(
            "Commit of {} failed ({}); retrying in {} ms",
            committable.transactionId(),
            SqlFailures.describe(e),
            backoff.nextPauseMillis());
        backoff.pause();
      }
    }
  }

  /**
   * A name no longer prepared was committed before a restart, unless the server says otherwise:
   * rolled back (by hand, say, after a refused start) or never seen (the job restored against
   * another server). Those fail the job without restarts, which could not bring the rows back:
   * restoring an earlier checkpoint replays them. Committables of versions that did not record the
   * transaction's id, and ids too old for the server to remember, count as committed.
   */
  private void checkCommittedBefore(CopyCommittable committable) throws SQLException {
    if (committable.transactionXid() == 0) {
      return;
    }
    String status;
    try (java.sql.PreparedStatement query = connection.prepareStatement("SELECT txid_status(?)")) {
      query.setLong(1, committable.transactionXid());
      try (java.sql.ResultSet rows = query.executeQuery()) {
        rows.next();
        status = rows.getString(1);
      }
    } catch (SQLException e) {
      if (!"22023".equals(e.getSQLState())) {
        throw e;
      }
      // "transaction ID … is in the future": this server never ran it.
      throw new SuppressRestartsException(
          new IOException(
              notCommitted(committable)
                  + " this database server never ran it ("
                  + e.getMessage()
                  + "): is database.url the server the job wrote to before?"));
    }
    if ("aborted".equals(status)) {
      throw new SuppressRestartsException(
          new IOException(
              notCommitted(committable)
                  + " it was rolled back (by hand?), so its rows are not stored. Restore the job"
                  + " from a checkpoint before the one holding it to write them again."));
    }
    if ("in progress".equals(status)) {
      // Retried: a moment later it is prepared, committed or gone.
      throw new java.sql.SQLTransientException(
          "transaction " + committable.transactionId() + " is still in progress", "55006");
    }
  }

  private static String notCommitted(CopyCommittable committable) {
    return "Prepared transaction "
        + committable.transactionId()
        + " ("
        + committable.rows()
        + " rows) of a completed checkpoint is not prepared any more, and not committed:";
  }

  private String failureMessage(
      CopyCommittable committable, boolean afterCommit, int attempts, SQLException e) {
    String what;
    String state;
    if (committable.transactionId() == null || afterCommit) {
      what =
          "Cannot run the statements after the commit of "
              + (committable.transactionId() == null
                  ? "a checkpoint"
                  : "prepared transaction " + committable.transactionId());
      state =
          "They run again, in order, when the job restarts from its last checkpoint"
              + (committable.transactionId() != null ? " (the rows are committed)" : "")
              + ".";
    } else {
      what =
          "Cannot commit prepared transaction "
              + committable.transactionId()
              + " ("
              + committable.rows()
              + " rows) into "
              + settings.table();
      state =
          "It stays prepared in the database, and the job commits it when it restarts from its last"
              + " checkpoint.";
    }
    String retried = attempts > 1 ? " (" + attempts + " attempts)" : "";
    String cause =
        SqlFailures.isTransient(e)
            ? ""
            : " Fix the cause (e.g. database.url or database.user must be the ones that prepared"
                + " it), then restart the job from its last checkpoint.";
    return what + retried + ": " + SqlFailures.describe(e) + ". " + state + cause;
  }

  private void runAfterCommit(CopyCommittable committable) throws SQLException {
    if (!committable.hasAfterCommit()) {
      return;
    }
    if (!connection.getAutoCommit()) {
      connection.setAutoCommit(true);
    }
    if (!committable.rawStatements().isEmpty()) {
      // Restored from a checkpoint of a version that stored statements as SQL text.
      try (java.sql.Statement statement = connection.createStatement()) {
        for (String sql : committable.rawStatements()) {
          statement.execute(sql);
        }
      }
    }
    for (AfterCommitAction action : committable.afterCommit()) {
      AfterCommitStatement declared = declaredStatement(committable, action);
      try (PreparedStatement statement = connection.prepareStatement(declared.sql())) {
        for (int i = 0; i < action.parameters().size(); i++) {
          action.parameters().get(i).bindTo(statement, i + 1);
        }
        statement.execute();
      }
    }
  }

  /**
   * The statement an action of a checkpoint names, as this job declares it. A checkpoint taken by a
   * version of the job that declared a statement this one does not (or with other placeholders)
   * cannot run here, and no restart changes that: the job fails without restarts, saying what to
   * declare; the checkpoint keeps the action, and its transaction stays prepared (this is checked
   * before the commit). To retire a statement, keep its name declared with a no-op of as many
   * placeholders (e.g. {@code SELECT 1 WHERE ? IS NULL}) until no checkpoint holds an action of it.
   */
  private AfterCommitStatement declaredStatement(
      CopyCommittable committable, AfterCommitAction action) {
    AfterCommitStatement declared = settings.afterCommitStatements().get(action.statement());
    String problem = null;
    if (declared == null) {
      problem =
          "its encoder declares no statement named '"
              + action.statement()
              + "' (it declares "
              + settings.afterCommitStatements().keySet()
              + ")";
    } else if (declared.parameterCount() != action.parameters().size()) {
      problem =
          "its statement '"
              + action.statement()
              + "' takes "
              + declared.parameterCount()
              + " parameters, the checkpoint holds "
              + action.parameters().size()
              + " ("
              + declared.sql()
              + ")";
    }
    if (problem == null) {
      return declared;
    }
    throw new SuppressRestartsException(
        new IOException(
            "A checkpoint holds the after-commit action "
                + action
                + (committable.transactionId() == null
                    ? ""
                    : " of prepared transaction " + committable.transactionId())
                + ", which this job cannot run: "
                + problem
                + ". Nothing of it ran"
                + (committable.transactionId() == null
                    ? ""
                    : " and the transaction stays prepared (it may hold locks)")
                + ". Declare the statement as the job that took the checkpoint did (to retire it, a"
                + " no-op with as many placeholders, e.g. SELECT 1 WHERE ? IS NULL), then restart"
                + " from the checkpoint."));
  }

  private void closeConnection() {
    connection = Connections.closeQuietly(connection);
  }

  @Override
  public void close() {
    closeConnection();
  }
}
