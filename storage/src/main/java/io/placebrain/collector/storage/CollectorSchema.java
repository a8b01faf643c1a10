package io.placebrain.collector.storage;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates and upgrades the readings and alerts schema. Idempotent, and safe when several job
 * subtasks and the query service start at once: the migration runs in one transaction under a
 * transaction-scoped advisory lock, so concurrent callers wait for the first and then find
 * everything in place.
 *
 * <p>Every statement that would lock a table runs only when the catalog shows something missing. An
 * up-to-date schema therefore takes no table locks: a job subtask that restarts beside running
 * writers must never queue behind their open (or prepared) transactions, which commit only once
 * that very subtask is back.
 */
public final class CollectorSchema {

  private static final Logger LOG = LoggerFactory.getLogger(CollectorSchema.class);

  /** Rows a sink could not store because the database refused their data; see README. */
  public static final String REJECTED_ROWS = "rejected_rows";

  /** Which job last committed readings under each transaction prefix and subtask. */
  public static final String SINK_PROGRESS = "sink_progress";

  /**
   * The query service's outbox of alert events to publish on MQTT once a user's resolve committed.
   * Versions before this one had the service create it; its shape is unchanged.
   */
  public static final String ALERT_EVENTS_OUTBOX = "alert_events_outbox";

  /**
   * The query service's outbox of resolves to announce to the job on Kafka. A table of its own, so
   * a service of an earlier version draining {@link #ALERT_EVENTS_OUTBOX} never takes these rows
   * for MQTT events.
   */
  public static final String ALERT_RESOLVED_OUTBOX = "alert_resolved_outbox";

  /** The alerts sink's upsert procedure; see {@link #createAlertsUpsert}. */
  public static final String ALERTS_UPSERT = "collector_upsert_alert_v2";

  private static final String ALERTS_UPSERT_ARGUMENTS =
      "(text, text, text, text, text, text, double precision, double precision, text, text, text,"
          + " timestamptz, timestamptz)";

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
      // Where DDL is needed, waiting for a lock is bounded: a failed start is retried.
      statement.execute("SET LOCAL lock_timeout = '30s'");
      createAlerts(statement);
      createRejectedRows(statement);
      createSinkProgress(statement);
      createOutbox(statement, ALERT_EVENTS_OUTBOX, "");
      createOutbox(statement, ALERT_RESOLVED_OUTBOX, " message_key bytea NOT NULL,");
      createAlertsUpsert(statement);
      StorageMode mode = createReadings(connection, statement, settings);
      connection.commit();
      LOG.info(
          "Schema ready: readings stored as {} (retention {}, compression after {})",
          mode,
          settings.retention(),
          mode == StorageMode.TIMESCALEDB ? settings.compressAfter() : "n/a");
      ReadingsMaintenance.run(connection, mode, settings, Instant.now());
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
      if (!exists(statement, "readings")) {
        throw new SQLException("Table readings does not exist: run the schema migration first");
      }
      return isPartitioned(statement) ? StorageMode.PARTITIONED : StorageMode.UNPARTITIONED;
    }
  }

  private static void createAlerts(Statement statement) throws SQLException {
    if (!exists(statement, "alerts")) {
      statement.execute(
          "CREATE TABLE alerts ("
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
    }
    createIndexIfMissing(
        statement, "alerts_place_created_idx", "alerts (place_id, created_at DESC)");
    createIndexIfMissing(statement, "alerts_device_idx", "alerts (device_id)");
    // The alerts upsert looks for other active alerts of a threshold and sensor.
    createIndexIfMissing(
        statement,
        "alerts_threshold_sensor_active_idx",
        "alerts (threshold_id, sensor_id) WHERE status = 'active'");
    // Counting unresolved alerts per place reads only the active ones.
    createIndexIfMissing(
        statement, "alerts_place_active_idx", "alerts (place_id) WHERE status = 'active'");
  }

  /**
   * An outbox: events written in the transaction that decided them, published in {@code seq} order
   * after it committed, then deleted.
   */
  private static void createOutbox(Statement statement, String table, String extraColumns)
      throws SQLException {
    if (!exists(statement, table)) {
      statement.execute(
          "CREATE TABLE "
              + table
              + " (seq bigserial PRIMARY KEY, alert_id uuid NOT NULL, topic text NOT NULL,"
              + extraColumns
              + " payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())");
    }
  }

  /**
   * Rows the database refused as data (a sink's second line of defence behind validation), kept
   * with the database's message and the row itself so nothing accepted is lost.
   */
  private static void createRejectedRows(Statement statement) throws SQLException {
    if (!exists(statement, REJECTED_ROWS)) {
      statement.execute(
          "CREATE TABLE "
              + REJECTED_ROWS
              + " ("
              + "rejected_at timestamptz NOT NULL DEFAULT now(),"
              + " target_table text NOT NULL,"
              + " sqlstate text NOT NULL,"
              + " message text NOT NULL,"
              + " row_text text NOT NULL,"
              + " row_copy bytea)");
    }
  }

  /** Which job last committed readings under a transaction prefix; see the README. */
  private static void createSinkProgress(Statement statement) throws SQLException {
    if (!exists(statement, SINK_PROGRESS)) {
      statement.execute(
          "CREATE TABLE "
              + SINK_PROGRESS
              + " (prefix text NOT NULL, subtask int NOT NULL, job_tag text NOT NULL,"
              + " checkpoint bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(),"
              + " PRIMARY KEY (prefix, subtask))");
    }
  }

  /**
   * The alerts sink's one statement, as a procedure: the idempotent upsert, and where the database
   * refuses the row as data (class 22 or 23), the row with the database's message into {@link
   * #REJECTED_ROWS} instead of an error, so one bad alert row never fails the job. The exception
   * block is a subtransaction per row; alert events are few. The name carries a version: a changed
   * body gets a new name, so a running job's statement never changes under it.
   */
  private static void createAlertsUpsert(Statement statement) throws SQLException {
    try (ResultSet rows =
        statement.executeQuery(
            "SELECT to_regprocedure('" + ALERTS_UPSERT + ALERTS_UPSERT_ARGUMENTS + "') IS NULL")) {
      rows.next();
      if (!rows.getBoolean(1)) {
        return;
      }
    }
    statement.execute(
        "CREATE PROCEDURE "
            + ALERTS_UPSERT
            + "(p_id text, p_sensor_id text, p_threshold_id text, p_device_id text,"
            + " p_place_id text, p_key text, p_value double precision,"
            + " p_threshold_value double precision, p_threshold_type text, p_severity text,"
            + " p_status text, p_created_at timestamptz, p_resolved_at timestamptz)"
            + " LANGUAGE plpgsql AS $$\n"
            + "DECLARE\n"
            + "  v_newer timestamptz;\n"
            + "BEGIN\n"
            // At most one active alert per threshold and sensor, whatever a replay decides: an
            // event of a later violation resolves an active row of an earlier one (a replay that
            // began the violation at another reading, so under another id), and a resolution
            // resolves every active row of that threshold and sensor created up to its alert.
            + "  UPDATE alerts SET status = 'resolved', resolved_at = COALESCE(p_resolved_at,"
            + " p_created_at) WHERE threshold_id = p_threshold_id::uuid"
            + " AND sensor_id = p_sensor_id::uuid AND status = 'active' AND id <> p_id::uuid"
            // Violations that began at the same time (a replay that reached it from another
            // reading) are ordered by id, so exactly one of them stays active.
            + " AND ((created_at, id) < (p_created_at, p_id::uuid) OR (p_status = 'resolved'"
            + " AND created_at <= p_created_at));\n"
            // And an event of an earlier violation than an active row's (a replay that reached
            // it only now) is stored as resolved when that later one began: the newest wins.
            + "  IF p_status = 'active' THEN\n"
            + "    SELECT min(created_at) INTO v_newer FROM alerts"
            + " WHERE threshold_id = p_threshold_id::uuid AND sensor_id = p_sensor_id::uuid"
            + " AND status = 'active' AND id <> p_id::uuid"
            + " AND (created_at, id) > (p_created_at, p_id::uuid);\n"
            + "    IF v_newer IS NOT NULL THEN\n"
            + "      p_status := 'resolved';\n"
            + "      p_resolved_at := v_newer;\n"
            + "    END IF;\n"
            + "  END IF;\n"
            + "  INSERT INTO alerts (id, sensor_id, threshold_id, device_id, place_id, key, value,"
            + " threshold_value, threshold_type, severity, status, created_at, resolved_at)"
            + " VALUES (p_id::uuid, p_sensor_id::uuid, p_threshold_id::uuid, p_device_id::uuid,"
            + " p_place_id::uuid, p_key, p_value, p_threshold_value, p_threshold_type, p_severity,"
            + " p_status, p_created_at, p_resolved_at)"
            // A replayed "created" never turns a resolved alert active again.
            + " ON CONFLICT (id) DO UPDATE SET status = 'resolved', resolved_at ="
            + " EXCLUDED.resolved_at WHERE EXCLUDED.status = 'resolved'"
            + " AND alerts.status <> 'resolved';\n"
            + "EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN\n"
            + "  INSERT INTO "
            + REJECTED_ROWS
            + " (target_table, sqlstate, message, row_text) VALUES ('alerts', SQLSTATE, SQLERRM,"
            + " json_build_object('id', p_id, 'sensor_id', p_sensor_id, 'threshold_id',"
            + " p_threshold_id, 'device_id', p_device_id, 'place_id', p_place_id, 'key', p_key,"
            + " 'value', p_value, 'threshold_value', p_threshold_value, 'threshold_type',"
            + " p_threshold_type, 'severity', p_severity, 'status', p_status, 'created_at',"
            + " p_created_at, 'resolved_at', p_resolved_at)::text);\n"
            + "END\n"
            + "$$");
  }

  private static StorageMode createReadings(
      Connection connection, Statement statement, SchemaSettings settings) throws SQLException {
    boolean exists = exists(statement, "readings");
    boolean timescale = enableTimescale(connection, statement);
    StorageMode mode;
    if (timescale && (!exists || isHypertable(statement) || !isPartitioned(statement))) {
      if (!exists) {
        statement.execute("CREATE TABLE readings (" + READINGS_COLUMNS + ")");
      }
      if (!isHypertable(statement)) {
        // No default index on time alone: every query filters on the device first, and one index
        // fewer to maintain is faster ingest. Without it the planner cannot pick a time-only scan
        // over the (device_id, key, time) index for short ranges.
        statement.execute(
            "SELECT create_hypertable('readings', 'time', chunk_time_interval => INTERVAL '1 day',"
                + " if_not_exists => TRUE, migrate_data => TRUE, create_default_indexes => FALSE)");
      }
      configureTimescalePolicies(statement, settings);
      mode = StorageMode.TIMESCALEDB;
    } else if (!exists) {
      statement.execute(
          "CREATE TABLE readings (" + READINGS_COLUMNS + ") PARTITION BY RANGE (time)");
      // Catches rows outside every daily partition, so an insert never fails for want of one.
      statement.execute(
          "CREATE TABLE "
              + ReadingsMaintenance.DEFAULT_PARTITION
              + " PARTITION OF readings DEFAULT");
      mode = StorageMode.PARTITIONED;
    } else {
      mode = isPartitioned(statement) ? StorageMode.PARTITIONED : StorageMode.UNPARTITIONED;
    }
    createIndexIfMissing(
        statement, "readings_device_key_time_idx", "readings (device_id, key, time DESC)");
    return mode;
  }

  private static final String READINGS_COLUMNS =
      "time timestamptz NOT NULL,"
          + " device_id uuid NOT NULL,"
          + " key text NOT NULL,"
          + " value double precision NOT NULL";

  private static void createIndexIfMissing(Statement statement, String name, String definition)
      throws SQLException {
    if (!exists(statement, name)) {
      statement.execute("CREATE INDEX IF NOT EXISTS " + name + " ON " + definition);
    }
  }

  /**
   * Creates the extension when the server offers it. A server may list it without loading it
   * (shared_preload_libraries), or the user may lack the right to create it: then plain PostgreSQL
   * is used, and a savepoint keeps the failed attempt from aborting the migration.
   */
  /**
   * Why this server cannot store readings, if the reason is one the schema migration would only
   * find out the hard way: TimescaleDB installed but not in {@code shared_preload_libraries} (the
   * state right after installing the package), where {@code CREATE EXTENSION} ends the session with
   * FATAL and the cause shows only in the server's log.
   */
  public static Optional<String> timescaleProblem(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      return timescaleProblem(statement);
    }
  }

  private static Optional<String> timescaleProblem(Statement statement) throws SQLException {
    boolean available;
    boolean installed;
    try (ResultSet rows =
        statement.executeQuery(
            "SELECT installed_version IS NOT NULL FROM pg_available_extensions"
                + " WHERE name = 'timescaledb'")) {
      available = rows.next();
      installed = available && rows.getBoolean(1);
    }
    if (!available) {
      return Optional.empty();
    }
    String preload;
    try (ResultSet rows =
        statement.executeQuery(
            "SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'")) {
      if (!rows.next()) {
        // Hidden from roles without pg_read_all_settings: nothing to tell then.
        return Optional.empty();
      }
      preload = rows.getString(1);
    }
    return TimescalePreload.problem(available, installed, preload);
  }

  private static boolean enableTimescale(Connection connection, Statement statement)
      throws SQLException {
    Optional<String> problem = timescaleProblem(statement);
    if (problem.isPresent()) {
      // Object not in prerequisite state: permanent until the server is reconfigured.
      throw new SQLException(problem.get(), "55000");
    }
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
    Savepoint savepoint = connection.setSavepoint();
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
    // A policy is replaced only when its interval differs from the configured one.
    if (!policyMatches(
        statement, "policy_compression", "compress_after", settings.compressAfter())) {
      statement.execute("SELECT remove_compression_policy('readings', if_exists => TRUE)");
      statement.execute(
          "SELECT add_compression_policy('readings', compress_after => "
              + interval(settings.compressAfter())
              + ")");
    }
    if (!policyMatches(statement, "policy_retention", "drop_after", settings.retention())) {
      statement.execute("SELECT remove_retention_policy('readings', if_exists => TRUE)");
      statement.execute(
          "SELECT add_retention_policy('readings', drop_after => "
              + interval(settings.retention())
              + ")");
    }
  }

  private static boolean policyMatches(
      Statement statement, String procedure, String field, Duration expected) throws SQLException {
    try (ResultSet rows =
        statement.executeQuery(
            "SELECT (config ->> '"
                + field
                + "')::interval = "
                + interval(expected)
                + " FROM timescaledb_information.jobs WHERE hypertable_name = 'readings'"
                + " AND proc_name = '"
                + procedure
                + "'")) {
      return rows.next() && rows.getBoolean(1);
    }
  }

  static String interval(Duration duration) {
    return "INTERVAL '" + duration.toSeconds() + " seconds'";
  }

  private static boolean exists(Statement statement, String relation) throws SQLException {
    try (ResultSet rows =
        statement.executeQuery("SELECT to_regclass('" + relation + "') IS NOT NULL")) {
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
