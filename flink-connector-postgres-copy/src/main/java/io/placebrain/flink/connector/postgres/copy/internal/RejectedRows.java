package io.placebrain.flink.connector.postgres.copy.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import org.apache.flink.annotation.Internal;

/**
 * Writes rows the database refused into the rejected-rows table, in the caller's transaction, so
 * they commit (or roll back) together with the rows around them.
 */
@Internal
public final class RejectedRows {

  private final String table;

  public RejectedRows(String table) {
    this.table = table;
  }

  /** Fails with what to create when the table is missing, before any row depends on it. */
  public void checkExists(Connection connection) throws SQLException {
    Tables.requireExists(
        connection,
        table,
        "rejected-rows",
        "rejected_at timestamptz DEFAULT now(), target_table text, sqlstate text, message text,"
            + " row_text text, row_copy bytea");
  }

  public void insert(
      Connection connection,
      String targetTable,
      SQLException refusal,
      String rowText,
      byte[] rowCopy)
      throws SQLException {
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO "
                + table
                + " (target_table, sqlstate, message, row_text, row_copy) VALUES (?, ?, ?, ?, ?)")) {
      insert.setString(1, targetTable);
      insert.setString(2, String.valueOf(refusal.getSQLState()));
      insert.setString(3, storable(String.valueOf(refusal.getMessage())));
      insert.setString(4, storable(rowText));
      insert.setBytes(5, rowCopy);
      insert.executeUpdate();
    }
  }

  /**
   * Text PostgreSQL accepts whatever the row held: NUL and lone surrogates (what made the row
   * unstorable, likely) become {@code \\uXXXX} escapes.
   */
  public static String storable(String text) {
    if (text == null) {
      return null;
    }
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean pair =
          Character.isHighSurrogate(c)
              && i + 1 < text.length()
              && Character.isLowSurrogate(text.charAt(i + 1));
      boolean bad = c == 0 || (!pair && Character.isSurrogate(c));
      if (bad && out == null) {
        out = new StringBuilder(text.length() + 16).append(text, 0, i);
      }
      if (out != null) {
        if (bad) {
          out.append(String.format("\\u%04X", (int) c));
        } else if (pair) {
          out.append(c).append(text.charAt(++i));
        } else {
          out.append(c);
        }
      } else if (pair) {
        i++;
      }
    }
    return out == null ? text : out.toString();
  }
}
