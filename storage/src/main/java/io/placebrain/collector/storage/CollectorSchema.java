package io.placebrain.collector.storage;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates and upgrades the readings and alerts schema. Idempotent, and safe when several job
 * subtasks and the query service start at once: the whole migration runs in one transaction under a
 * transaction-scoped advisory lock, so concurrent callers wait for the first and then find
 * everything in place.
 */
public final class CollectorSchema {

  private static final Logger LOG = LoggerFactory.getLogger(CollectorSchema.class);

  /** Advisory lock key shared by every process that migrates this schema. */
  static final long MIGRATION_LOCK = 0x636f6c6c6563746fL; // "collecto"

  private CollectorSchema() {}

  /**
   * Brings the schema up to date and returns how readings are stored. Uses the extension {@code
   * timescaledb} when the server offers it; otherwise falls back to plain PostgreSQL.
   */
  public static StorageMode migrate(Connection connection, SchemaSettings settings)
      throws SQLException {
    boolean autoCommit = connection.getAutoCommit();
    connection.setAutoCommit(false);
    try (Statement statement = connection.createStatement()) {
      statement.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")");
      createAlerts(statement);
      StorageMode mode = createReadings(connection, statement, settings);
      connection.commit();
      LOG.info(
          "Schema ready: readings stored as {} (retention {}, compression after {})",
          mode,
          settings.retention(),
          mode == StorageMode.TIMESCALEDB ? settings.compressAfter() : "n/a");
      if (mode != StorageMode.TIMESCALEDB) {
        ReadingsMaintenance.run(connection, mode, settings, Instant.now());
      }
      return mode;
    } catch (SQLException | RuntimeException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(autoCommit);
    }
  }

  /** How readings are stored in this database, without changing anything. */
  public static StorageMode detect(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      if (isHypertable(statement)) {
        return StorageMode.TIMESCALEDB;
      }
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  + "WHERE c.relname = 'readings' AND n.nspname = current_schema()")) {
        if (!rows.next()) {
          throw new SQLException("Table readings does not exist: run the schema migration first");
        }
        return "p".equals(rows.getString(1)) ? StorageMode.PARTITIONED : StorageMode.UNPARTITIONED;
      }
    }
  }

  private static void createAlerts(Statement statement) throws SQLException {
    statement.execute(
        "CREATE TABLE IF NOT EXISTS alerts ("
            + "id uuid PRIMARY KEY,"
            + " sensor_id uuid,"
            + " threshold_id uuid,"
            + " device_id uuid,"
            + " place_id uuid,"
            + " key text,"
            + " value double precision,"
            + " threshold_value double precision,"
            + " threshold_type text,"
            + " severity text,"
            + " status text DEFAULT 'active',"
            + " created_at timestamptz,"
            + " resolved_at timestamptz)");
    statement.execute(
        "CREATE INDEX IF NOT EXISTS alerts_place_created_idx ON alerts (place_id, created_at DESC)");
    statement.execute("CREATE INDEX IF NOT EXISTS alerts_device_idx ON alerts (device_id)");
  }

  private static StorageMode createReadings(
      Connection connection, Statement statement, SchemaSettings settings) throws SQLException {
    boolean exists = tableExists(statement, "readings");
    boolean timescale = enableTimescale(connection, statement);
    StorageMode mode;
    if (timescale && (!exists || isHypertable(statement) || !isPartitioned(statement))) {
      statement.execute(
          "CREATE TABLE IF NOT EXISTS readings ("
              + "time timestamptz NOT NULL,"
              + " device_id uuid NOT NULL,"
              + " key text NOT NULL,"
              + " value double precision NOT NULL)");
      statement.execute(
          "SELECT create_hypertable('readings', 'time', chunk_time_interval => INTERVAL '1 day',"
              + " if_not_exists => TRUE, migrate_data => TRUE)");
      configureTimescalePolicies(statement, settings);
      mode = StorageMode.TIMESCALEDB;
    } else if (!exists) {
      statement.execute(
          "CREATE TABLE readings ("
              + "time timestamptz NOT NULL,"
              + " device_id uuid NOT NULL,"
              + " key text NOT NULL,"
              + " value double precision NOT NULL) PARTITION BY RANGE (time)");
      statement.execute(
          "CREATE TABLE IF NOT EXISTS "
              + ReadingsMaintenance.DEFAULT_PARTITION
              + " PARTITION OF readings DEFAULT");
      mode = StorageMode.PARTITIONED;
    } else {
      mode = isPartitioned(statement) ? StorageMode.PARTITIONED : StorageMode.UNPARTITIONED;
    }
    statement.execute(
        "CREATE INDEX IF NOT EXISTS readings_device_key_time_idx"
            + " ON readings (device_id, key, time DESC)");
    return mode;
  }

  /**
   * Creates the extension when the server offers it. A server may list it without loading it
   * (shared_preload_libraries), or the user may lack the right to create it: then plain PostgreSQL
   * is used, and a savepoint keeps the failed attempt from aborting the migration.
   */
  private static boolean enableTimescale(Connection connection, Statement statement)
      throws SQLException {
    try (ResultSet rows =
        statement.executeQuery(
            "SELECT installed_version IS NOT NULL FROM pg_available_extensions"
                + " WHERE name = 'timescaledb'")) {
      if (!rows.next()) {
        return false;
      }
      if (rows.getBoolean(1)) {
        return true;
      }
    }
    var savepoint = connection.setSavepoint();
    try {
      statement.execute("CREATE EXTENSION IF NOT EXISTS timescaledb");
      connection.releaseSavepoint(savepoint);
      return true;
    } catch (SQLException e) {
      connection.rollback(savepoint);
      LOG.warn(
          "The timescaledb extension is available but could not be created ({});"
              + " using plain PostgreSQL partitioning",
          e.getMessage());
      return false;
    }
  }

  private static void configureTimescalePolicies(Statement statement, SchemaSettings settings)
      throws SQLException {
    boolean compressionEnabled;
    try (ResultSet rows =
        statement.executeQuery(
            "SELECT compression_enabled FROM timescaledb_information.hypertables"
                + " WHERE hypertable_name = 'readings'")) {
      compressionEnabled = rows.next() && rows.getBoolean(1);
    }
    if (!compressionEnabled) {
      statement.execute(
          "ALTER TABLE readings SET (timescaledb.compress,"
              + " timescaledb.compress_segmentby = 'device_id, key',"
              + " timescaledb.compress_orderby = 'time DESC')");
    }
    // Replacing the policies keeps them in step with the configured intervals.
    statement.execute("SELECT remove_compression_policy('readings', if_exists => TRUE)");
    statement.execute(
        "SELECT add_compression_policy('readings', compress_after => "
            + interval(settings.compressAfter())
            + ")");
    statement.execute("SELECT remove_retention_policy('readings', if_exists => TRUE)");
    statement.execute(
        "SELECT add_retention_policy('readings', drop_after => "
            + interval(settings.retention())
            + ")");
  }

  static String interval(java.time.Duration duration) {
    return "INTERVAL '" + duration.toSeconds() + " seconds'";
  }

  private static boolean tableExists(Statement statement, String table) throws SQLException {
    try (ResultSet rows =
        statement.executeQuery("SELECT to_regclass('" + table + "') IS NOT NULL")) {
      return rows.next() && rows.getBoolean(1);
    }
  }

  private static boolean isPartitioned(Statement statement) throws SQLException {
    try (ResultSet rows =
        statement.executeQuery(
            "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = to_regclass('readings')")) {
      return rows.next() && rows.getInt(1) > 0;
    }
  }

  private static boolean isHypertable(Statement statement) throws SQLException {
    try (ResultSet extension =
        statement.executeQuery("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")) {
      if (!extension.next()) {
        return false;
      }
    }
    try (ResultSet rows =
        statement.executeQuery(
            "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'")) {
      return rows.next();
    }
  }
}
