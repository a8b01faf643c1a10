package io.placebrain.collector.storage;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.UUID;

/**
 * Deletes everything stored of devices: alerts first, then readings, the order the platform has
 * always used so an alert never outlives the readings it points at. Shared by the job and the query
 * service so both cascade identically; deleting is idempotent, so running it twice is harmless.
 */
public final class DeviceData {

  private static final String DELETE_ALERTS = "DELETE FROM alerts WHERE device_id = ANY (?)";
  private static final String DELETE_READINGS = "DELETE FROM readings WHERE device_id = ANY (?)";

  private DeviceData() {}

  /** Rows removed by {@link #delete}. */
  public record Deleted(long alerts, long readings) {}

  /** Deletes in the caller's transaction; the ids are bound, never spliced into the SQL. */
  public static Deleted delete(Connection connection, Collection<UUID> devices)
      throws SQLException {
    Array ids = connection.createArrayOf("uuid", devices.toArray());
    try {
      return new Deleted(
          update(connection, DELETE_ALERTS, ids), update(connection, DELETE_READINGS, ids));
    } finally {
      ids.free();
    }
  }

  private static long update(Connection connection, String sql, Array ids) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setArray(1, ids);
      return statement.executeLargeUpdate();
    }
  }

  /**
   * The same deletion of one device as self-contained statements, for callers that must store the
   * statements and run them later. The id is a {@link UUID}, whose text form is safe to inline.
   */
  public static List<String> deletionStatements(UUID device) {
    String literal = "'" + device + "'::uuid";
    return List.of(
        "DELETE FROM alerts WHERE device_id = " + literal,
        "DELETE FROM readings WHERE device_id = " + literal,
        // Rows the database refused name the device only in their text; the table stays small.
        "DELETE FROM " + CollectorSchema.REJECTED_ROWS + " WHERE row_text LIKE '%" + device + "%'");
  }
}
