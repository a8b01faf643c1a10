package io.placebrain.flink.connector.postgres.copy.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.annotation.Internal;

/**
 * Which job last committed rows under a transaction prefix, written by the committer right after
 * each {@code COMMIT PREPARED} (not inside the transaction: a prepared transaction holds its row
 * locks until committed, so the next checkpoint's transaction would wait for the previous one,
 * which only that checkpoint's completion commits, e.g. never after an intermediate savepoint). A
 * job that starts without a checkpoint or savepoint finds here whether another job already stored
 * rows under its prefix: it would then read Kafka from the consumer group's offsets, which may lag
 * what that job stored (duplicates) or run ahead of what it committed (loss), so it refuses instead
 * of guessing.
 */
@Internal
public final class SinkProgress {

  private final String table;

  public SinkProgress(String table) {
    this.table = table;
  }

  /** Fails with what to create when the table is missing, before any transaction needs it. */
  public void checkExists(Connection connection) throws SQLException {
    Tables.requireExists(
        connection,
        table,
        "sink progress",
        "prefix text, subtask int, job_tag text, checkpoint bigint,"
            + " committed_at timestamptz DEFAULT now(), PRIMARY KEY (prefix, subtask)");
  }

  /**
   * Records that the transaction {@code name} is committed; names without a job tag (of versions
   * before it) are not recorded. Runs in autocommit, so its row lock lasts one statement.
   */
  public void recordCommitted(Connection connection, String name) throws SQLException {
    var prefix = TransactionIds.prefixOf(name);
    if (prefix.isEmpty()) {
      return;
    }
    var jobTag = TransactionIds.jobTagOf(prefix.get(), name);
    var subtask = TransactionIds.subtask(prefix.get(), name);
    var label = TransactionIds.checkpointLabel(prefix.get(), name);
    if (jobTag.isEmpty() || subtask.isEmpty() || label.isEmpty()) {
      return;
    }
    if (!connection.getAutoCommit()) {
      connection.setAutoCommit(true);
    }
    record(connection, prefix.get(), (int) subtask.getAsLong(), jobTag.get(), label.getAsLong());
  }

  void record(
      Connection connection, String prefix, int subtask, String jobTag, long checkpointLabel)
      throws SQLException {
    try (PreparedStatement upsert =
        connection.prepareStatement(
            "INSERT INTO "
                + table
                + " (prefix, subtask, job_tag, checkpoint, committed_at) VALUES (?, ?, ?, ?, now())"
                + " ON CONFLICT (prefix, subtask) DO UPDATE SET job_tag = EXCLUDED.job_tag,"
                + " checkpoint = EXCLUDED.checkpoint, committed_at = EXCLUDED.committed_at")) {
      upsert.setString(1, prefix);
      upsert.setInt(2, subtask);
      upsert.setString(3, jobTag);
      upsert.setLong(4, checkpointLabel);
      upsert.executeUpdate();
    }
  }

  /**
   * Committed progress under {@code prefix}, one line each, newest first; none where the table does
   * not exist yet (a first start, before the schema is created).
   *
   * @param exceptJobTag a job whose rows are left out, or null to list every job's
   */
  public List<String> committed(Connection connection, String prefix, String exceptJobTag)
      throws SQLException {
    List<String> others = new ArrayList<>();
    if (!Tables.exists(connection, table)) {
      return others;
    }
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT job_tag, subtask, checkpoint, committed_at FROM "
                + table
                + " WHERE prefix = ? AND job_tag IS DISTINCT FROM ? ORDER BY committed_at DESC")) {
      query.setString(1, prefix);
      query.setString(2, exceptJobTag);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          others.add(
              "job "
                  + rows.getString(1)
                  + "… subtask "
                  + rows.getInt(2)
                  + " up to checkpoint "
                  + rows.getLong(3)
                  + " at "
                  + rows.getTimestamp(4).toInstant());
        }
      }
    }
    return others;
  }
}
