package io.placebrain.flink.connector.postgres.copy.internal;

import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import org.apache.flink.annotation.Internal;

/**
 * Sorts database failures into those worth retrying (the database or the network is briefly
 * unavailable, or a transaction lost a race) and those that will fail again however often they are
 * retried (missing table, wrong types, no permission), by SQLSTATE class.
 */
@Internal
public final class SqlFailures {

  /** {@code undefined_object}: COMMIT/ROLLBACK PREPARED for a name that is not prepared. */
  public static final String UNDEFINED_OBJECT = "42704";

  private SqlFailures() {}

  public static boolean isTransient(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLTransientException || t instanceof SQLRecoverableException) {
        return true;
      }
      if (t instanceof java.io.IOException) {
        return true;
      }
      if (t instanceof SQLException && isTransientState(((SQLException) t).getSQLState())) {
        return true;
      }
      if (t instanceof SQLException && isBusyPreparedTransaction((SQLException) t)) {
        return true;
      }
    }
    return false;
  }

  static boolean isTransientState(String state) {
    if (state == null || state.length() != 5) {
      return false;
    }
    switch (state.substring(0, 2)) {
      case "08": // connection exception
      case "53": // insufficient resources: too many connections, disk full, out of memory
      case "57": // operator intervention: admin/crash shutdown, cannot connect now
      case "58": // system error: I/O error
        // Includes 57014 query_canceled: a statement_timeout (e.g. set for the role) or a
        // cancelled backend; the statement is worth another attempt, never worth skipping.
        return true;
      case "40": // transaction rollback: serialization failure, deadlock
        return true;
      case "55":
        return state.equals("55P03"); // lock_not_available
      default:
        return false;
    }
  }

  /**
   * Whether the database refused the data itself (class 22 data exception, class 23 integrity
   * constraint violation): the same rows fail again however often they are sent, while the rows
   * around them are fine.
   */
  public static boolean isRowData(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException) {
        String state = ((SQLException) t).getSQLState();
        if (state != null && (state.startsWith("22") || state.startsWith("23"))) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether a COMMIT/ROLLBACK PREPARED failed because no such transaction is prepared. */
  /**
   * Another session is committing or rolling back the same prepared transaction right now
   * (PostgreSQL: "prepared transaction with identifier … is busy").
   */
  public static boolean isBusyPreparedTransaction(SQLException e) {
    return "55000".equals(e.getSQLState())
        && e.getMessage() != null
        && e.getMessage().contains("is busy");
  }

  public static boolean isUnknownPreparedTransaction(SQLException e) {
    return UNDEFINED_OBJECT.equals(e.getSQLState());
  }

  /** A one-line description with the SQLSTATE, for logs and error messages. */
  public static String describe(SQLException e) {
    return e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")";
  }
}
