package io.placebrain.flink.connector.postgres.copy.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.apache.flink.annotation.Internal;

/** Catalog checks for the tables a sink writes to besides its target. */
@Internal
final class Tables {

  private Tables() {}

  static boolean exists(Connection connection, String table) throws SQLException {
    try (PreparedStatement query = connection.prepareStatement("SELECT to_regclass(?)")) {
      query.setString(1, table);
      try (ResultSet result = query.executeQuery()) {
        result.next();
        return result.getString(1) != null;
      }
    }
  }

  /** Fails with what to create, before any row depends on the table. */
  static void requireExists(Connection connection, String table, String what, String columns)
      throws SQLException {
    if (!exists(connection, table)) {
      throw new SQLException(
          "The " + what + " table " + table + " does not exist; create it with columns " + columns,
          "42P01");
    }
  }
}
