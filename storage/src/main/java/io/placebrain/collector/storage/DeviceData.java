package io.placebrain.collector.storage;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.Collection;
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

  // --- The same deletion in chunks, each small enough for its own short transaction. ---

  private static final String DELETE_ALERTS_CHUNK =
      "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE device_id = ANY (?) LIMIT ?)";

  private static final String FIRST_KEY =
      "SELECT key FROM readings WHERE device_id = ? ORDER BY key LIMIT 1";

  private static final String NEXT_KEY =
      "SELECT key FROM readings WHERE device_id = ? AND key > ? ORDER BY key LIMIT 1";

  /** The time from which the newest {@code rows} rows below the bound lie; walks the index. */
  private static final String CHUNK_START =
      "SELECT time FROM readings WHERE device_id = ? AND key = ? %BELOW%"
          + " ORDER BY time DESC OFFSET ? LIMIT 1";

  private static final String DELETE_READINGS_FROM =
      "DELETE FROM readings WHERE device_id = ? AND key = ? AND time >= ? %BELOW%";

  private static final String DELETE_READINGS_REST =
      "DELETE FROM readings WHERE device_id = ? AND key = ? %BELOW%";

  /** One chunk of one key's readings: rows deleted, and where the next chunk ends. */
  public record Chunk(long deleted, OffsetDateTime nextBelow) {
    /** Whether the key has no rows left below the chunk. */
    public boolean keyDone() {
      return nextBelow == null;
    }
  }

  /** Deletes at most {@code rows} alerts of the devices, in the caller's transaction. */
  public static long deleteAlertsChunk(Connection connection, Collection<UUID> devices, int rows)
      throws SQLException {
    Array ids = connection.createArrayOf("uuid", devices.toArray());
    try (PreparedStatement statement = connection.prepareStatement(DELETE_ALERTS_CHUNK)) {
      statement.setArray(1, ids);
      statement.setInt(2, rows);
      return statement.executeLargeUpdate();
    } finally {
      ids.free();
    }
  }

  /**
   * The device's first key with readings after {@code after} (null: its first key); null when there
   * is none. One index probe.
   */
  public static String nextKey(Connection connection, UUID device, String after)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(after == null ? FIRST_KEY : NEXT_KEY)) {
      statement.setObject(1, device);
      if (after != null) {
        statement.setString(2, after);
      }
      try (ResultSet rows = statement.executeQuery()) {
        return rows.next() ? rows.getString(1) : null;
      }
    }
  }

  /**
   * Deletes the newest {@code rows} readings (a few more when several share the boundary time) of
   * one key of a device older than {@code below} (null: all of them), in the caller's transaction.
   * The next chunk starts below this one, so it never walks the index entries this one left dead.
   * Every statement follows the {@code (device_id, key, time DESC)} index and names the key and
   * time, so it works alike on plain tables, partitions and TimescaleDB chunks.
   */
  public static Chunk deleteReadingsChunk(
      Connection connection, UUID device, String key, OffsetDateTime below, int rows)
      throws SQLException {
    String bound = below == null ? "" : "AND time < ?";
    OffsetDateTime start = null;
    try (PreparedStatement statement =
        connection.prepareStatement(CHUNK_START.replace("%BELOW%", bound))) {
      int index = 1;
      statement.setObject(index++, device);
      statement.setString(index++, key);
      if (below != null) {
        statement.setObject(index++, below);
      }
      statement.setInt(index, rows - 1);
      try (ResultSet result = statement.executeQuery()) {
        if (result.next()) {
          start = result.getObject(1, OffsetDateTime.class);
        }
      }
    }
    String sql =
        (start == null ? DELETE_READINGS_REST : DELETE_READINGS_FROM).replace("%BELOW%", bound);
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      int index = 1;
      statement.setObject(index++, device);
      statement.setString(index++, key);
      if (start != null) {
        statement.setObject(index++, start);
      }
      if (below != null) {
        statement.setObject(index, below);
      }
      return new Chunk(statement.executeLargeUpdate(), start);
    }
  }

  // --- The same deletion of one device as statements to run later, e.g. after a commit. ---
  // Each takes the device id (a uuid) as its one parameter; they run in this order.

  public static final String DELETE_DEVICE_ALERTS = "DELETE FROM alerts WHERE device_id = ?";

  public static final String DELETE_DEVICE_READINGS = "DELETE FROM readings WHERE device_id = ?";

  /** Rows the database refused name the device only in their text; the table stays small. */
  public static final String DELETE_DEVICE_REJECTED_ROWS =
      "DELETE FROM " + CollectorSchema.REJECTED_ROWS + " WHERE row_text LIKE '%' || ?::text || '%'";
}
