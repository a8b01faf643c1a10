package io.placebrain.flink.connector.postgres.copy.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The database side of two-phase commit: settings, commit, and aborting what was left behind. */
@Internal
public final class PreparedTransactions {

  private static final Logger LOG = LoggerFactory.getLogger(PreparedTransactions.class);

  private PreparedTransactions() {}

  /**
   * Fails with a message saying what to set when the server cannot prepare enough transactions:
   * each writer subtask holds at most one prepared transaction per checkpoint in flight.
   */
  public static void checkEnabled(Connection connection, int parallelism) throws SQLException {
    int max;
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SHOW max_prepared_transactions")) {
      rows.next();
      max = Integer.parseInt(rows.getString(1));
    }
    if (max == 0) {
      throw new DisabledException(
          "The exactly-once COPY sink commits with PostgreSQL prepared transactions, which this"
              + " server disables (max_prepared_transactions = 0). Set max_prepared_transactions"
              + " to at least "
              + recommended(parallelism)
              + " (postgresql.conf, or start the server with -c max_prepared_transactions="
              + recommended(parallelism)
              + ") and restart PostgreSQL, or choose the at-least-once delivery guarantee.");
    }
    if (max < parallelism) {
      LOG.warn(
          "max_prepared_transactions = {} is below the sink parallelism {}; commits may fail."
              + " Set it to at least {}.",
          max,
          parallelism,
          recommended(parallelism));
    }
  }

  /** The server cannot prepare transactions at all; the message says what to set. */
  public static final class DisabledException extends IllegalStateException {
    DisabledException(String message) {
      super(message);
    }
  }

  static int recommended(int parallelism) {
    return Math.max(16, parallelism * 4);
  }

  /** Names of this database's prepared transactions that start with the prefix. */
  public static List<String> list(Connection connection, String prefix) throws SQLException {
    List<String> names = new ArrayList<>();
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()"
                + " AND starts_with(gid, ?) ORDER BY prepared")) {
      query.setString(1, prefix + TransactionIds.SEPARATOR);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          names.add(rows.getString(1));
        }
      }
    }
    return names;
  }

  /**
   * Names of the prefix's prepared transactions that writer subtask {@code subtask} is responsible
   * for: those of former subtasks {@code j} with {@code j % parallelism == subtask} (see {@link
   * #abortAfter}).
   */
  public static List<String> responsibleFor(
      Connection connection, String prefix, int subtask, int parallelism) throws SQLException {
    List<String> names = new ArrayList<>();
    for (String name : list(connection, prefix)) {
      OptionalLong owner = TransactionIds.subtask(prefix, name);
      if (TransactionIds.checkpointLabel(prefix, name).isPresent()
          && owner.isPresent()
          && owner.getAsLong() % parallelism == subtask) {
        names.add(name);
      }
    }
    return names;
  }

  /**
   * Rolls back the prepared transactions a restarting writer subtask is responsible for whose
   * checkpoint label is above {@code restoredCheckpointId}: they were prepared after the checkpoint
   * the subtask restarts from, so their rows will be written again. Transactions of that checkpoint
   * or earlier belong to the restored state and are committed by the committer. Without a restored
   * checkpoint every one goes: the writer calls it so only once it made sure they are its own job's
   * and it owns the prefix (see {@link TransactionOwnership}).
   *
   * <p>Each subtask cleans up after itself, because Flink may restart a single failed subtask
   * (region failover) while the others keep writing. After a change of parallelism, subtask {@code
   * i} also takes over the names of former subtasks {@code j} with {@code j % parallelism == i}; a
   * rescale always restarts every subtask, so none is forgotten.
   *
   * @return the names rolled back
   */
  public static List<String> abortAfter(
      Connection connection,
      String prefix,
      OptionalLong restoredCheckpointId,
      int subtask,
      int parallelism)
      throws SQLException {
    return abortAfter(connection, prefix, restoredCheckpointId, subtask, parallelism, Set.of());
  }

  /**
   * As {@link #abortAfter(Connection, String, OptionalLong, int, int)}, but only of the jobs with
   * the given tags (see {@link TransactionIds#jobTag}); all jobs when {@code jobTags} is empty.
   */
  public static List<String> abortAfter(
      Connection connection,
      String prefix,
      OptionalLong restoredCheckpointId,
      int subtask,
      int parallelism,
      Set<String> jobTags)
      throws SQLException {
    long keepUpTo = restoredCheckpointId.orElse(0L);
    List<String> aborted = new ArrayList<>();
    for (String name : list(connection, prefix)) {
      OptionalLong label = TransactionIds.checkpointLabel(prefix, name);
      OptionalLong owner = TransactionIds.subtask(prefix, name);
      boolean ofTheseJobs =
          jobTags.isEmpty()
              || TransactionIds.jobTagOf(prefix, name).map(jobTags::contains).orElse(false);
      if (label.isPresent()
          && owner.isPresent()
          && owner.getAsLong() % parallelism == subtask
          && label.getAsLong() > keepUpTo
          && ofTheseJobs) {
        try {
          execute(connection, "ROLLBACK PREPARED '" + name + "'");
          aborted.add(name);
        } catch (SQLException e) {
          // Another process may have resolved it meanwhile, or be resolving it right now (another
          // subtask rolling back an old prefix's leftovers); anything else is a real failure.
          if (!SqlFailures.isUnknownPreparedTransaction(e)
              && !SqlFailures.isBusyPreparedTransaction(e)) {
            throw e;
          }
        }
      }
    }
    if (!aborted.isEmpty()) {
      LOG.info(
          "Subtask {} rolled back {} prepared transaction(s) left after checkpoint {}: {}",
          subtask,
          aborted.size(),
          keepUpTo,
          aborted);
    }
    return aborted;
  }

  /**
   * This database's prepared transactions named as a COPY sink names them ({@code
   * <prefix>:<label>:<subtask>:<nonce>}) under prefixes other than {@code ownPrefix}, by prefix.
   */
  public static Map<String, List<String>> ofOtherPrefixes(Connection connection, String ownPrefix)
      throws SQLException {
    Map<String, List<String>> byPrefix = new TreeMap<>();
    try (Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()"
                    + " ORDER BY prepared")) {
      while (rows.next()) {
        String name = rows.getString(1);
        TransactionIds.prefixOf(name)
            .filter(prefix -> !prefix.equals(ownPrefix))
            .ifPresent(
                prefix -> byPrefix.computeIfAbsent(prefix, p -> new ArrayList<>()).add(name));
      }
    }
    return byPrefix;
  }

  /** {@code COMMIT PREPARED}; must run outside a transaction block. */
  public static void commit(Connection connection, String name) throws SQLException {
    execute(connection, "COMMIT PREPARED '" + name + "'");
  }

  private static void execute(Connection connection, String sql) throws SQLException {
    if (!connection.getAutoCommit()) {
      connection.setAutoCommit(true);
    }
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }
}
