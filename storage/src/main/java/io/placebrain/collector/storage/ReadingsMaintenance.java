package io.placebrain.collector.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Time-range upkeep of readings. On TimescaleDB: creates daily chunks before they are needed
 * (retention and compression are TimescaleDB policies). On plain PostgreSQL, partitioning and
 * retention, which TimescaleDB would otherwise do: keeps a daily partition ready for every retained
 * day and a few days ahead, and drops partitions whose day has passed out of retention. Rows that
 * fall outside every partition land in the default partition and are moved into a daily partition
 * when it is created, so nothing is lost.
 *
 * <p>Run it periodically (the job does, hourly); every run is idempotent. DDL waits at most {@value
 * #LOCK_TIMEOUT} for locks so that maintenance never stalls concurrent writers: a run that cannot
 * get its locks gives up and the next run tries again.
 */
public final class ReadingsMaintenance {

  static final String DEFAULT_PARTITION = "readings_default";
  static final String PARTITION_PREFIX = "readings_p";
  static final String LOCK_TIMEOUT = "5s";
  static final String DROP_LOCK_TIMEOUT = "200ms";
  static final long MAINTENANCE_LOCK = CollectorSchema.MIGRATION_LOCK + 1;

  private static final Logger LOG = LoggerFactory.getLogger(ReadingsMaintenance.class);
  private static final DateTimeFormatter DAY = DateTimeFormatter.BASIC_ISO_DATE;

  private ReadingsMaintenance() {}

  /** Runs one maintenance pass at the given time. */
  public static void run(
      Connection connection, StorageMode mode, SchemaSettings settings, Instant now)
      throws SQLException {
    Instant cutoff = now.minus(settings.retention());
    // Several subtasks may start maintenance at once; the first does the work, the others wait
    // and then find nothing left to do.
    try (Statement statement = connection.createStatement()) {
      statement.execute("SELECT pg_advisory_lock(" + MAINTENANCE_LOCK + ")");
    }
    try {
      switch (mode) {
        case TIMESCALEDB:
          createMissingChunks(connection, settings, now, cutoff);
          break;
        case UNPARTITIONED:
          deleteOlderThan(connection, "readings", cutoff);
          break;
        default:
          maintainPartitions(connection, settings, now, cutoff);
      }
    } finally {
      try (Statement statement = connection.createStatement()) {
        statement.execute("SELECT pg_advisory_unlock(" + MAINTENANCE_LOCK + ")");
      }
    }
  }

  private static void maintainPartitions(
      Connection connection, SchemaSettings settings, Instant now, Instant cutoff)
      throws SQLException {
    LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
    LocalDate firstKept = LocalDate.ofInstant(cutoff, ZoneOffset.UTC);
    List<LocalDate> existing = existingPartitions(connection);
    int created = 0;
    for (LocalDate day = firstKept;
        !day.isAfter(today.plusDays(settings.partitionsAhead()));
        day = day.plusDays(1)) {
      if (!existing.contains(day)) {
        createPartition(connection, day);
        created++;
      }
    }
    int dropped = 0;
    for (LocalDate day : existing) {
      // A partition expires once all of its day is older than the cutoff. Emptying it locks only
      // the partition, which no writer touches any more; dropping it would lock the parent
      // against every writer, so that is tried with a short timeout and otherwise left to a
      // later run: an empty partition costs nothing.
      if (!day.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().isAfter(cutoff)) {
        String name = partitionName(day);
        inTransaction(connection, LOCK_TIMEOUT, s -> s.execute("TRUNCATE " + name));
        try {
          inTransaction(
              connection, DROP_LOCK_TIMEOUT, s -> s.execute("DROP TABLE IF EXISTS " + name));
          dropped++;
        } catch (SQLException e) {
          LOG.debug("Partition {} emptied; dropping it waits for a quieter moment", name, e);
        }
      }
    }
    deleteOlderThan(connection, DEFAULT_PARTITION, cutoff);
    if (created > 0 || dropped > 0) {
      LOG.info(
          "Readings partitions: {} created, {} dropped (retention cutoff {})",
          created,
          dropped,
          cutoff);
    }
  }

  /**
   * Creates TimescaleDB's daily chunks for every retained day and a few days ahead, before any
   * reading needs them. A chunk created inside a writer's transaction holds a hypertable lock until
   * that transaction commits; with exactly-once writes that is the next checkpoint, and another
   * writer creating a chunk meanwhile would wait for it inside the checkpoint it blocks. Creating
   * them here, in short transactions of their own, keeps writers from ever creating one. A probe
   * row creates the chunk and is deleted in the same transaction; the empty chunk stays. Days whose
   * chunk exists are not touched, so compressed chunks are never written to.
   */
  private static void createMissingChunks(
      Connection connection, SchemaSettings settings, Instant now, Instant cutoff)
      throws SQLException {
    LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
    List<LocalDate> existing = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT range_start FROM timescaledb_information.chunks"
                    + " WHERE hypertable_name = 'readings'")) {
      while (rows.next()) {
        existing.add(LocalDate.ofInstant(rows.getTimestamp(1).toInstant(), ZoneOffset.UTC));
      }
    }
    int created = 0;
    for (LocalDate day = LocalDate.ofInstant(cutoff, ZoneOffset.UTC);
        !day.isAfter(today.plusDays(settings.partitionsAhead()));
        day = day.plusDays(1)) {
      if (existing.contains(day)) {
        continue;
      }
      String start = day.atStartOfDay(ZoneOffset.UTC).toInstant().toString();
      inTransaction(
          connection,
          LOCK_TIMEOUT,
          s -> {
            s.execute(
                "INSERT INTO readings (time, device_id, key, value) VALUES ('"
                    + start
                    + "', '00000000-0000-0000-0000-000000000000', '', 0)");
            s.execute(
                "DELETE FROM readings WHERE time = '"
                    + start
                    + "' AND device_id = '00000000-0000-0000-0000-000000000000' AND key = ''");
          });
      created++;
    }
    if (created > 0) {
      LOG.info("Readings chunks: {} created ahead of use", created);
    }
  }

  /**
   * Creates one day's partition. Rows of that day already in the default partition are moved into
   * it in the same transaction, since PostgreSQL refuses to attach a partition whose range the
   * default partition still holds rows for.
   */
  private static void createPartition(Connection connection, LocalDate day) throws SQLException {
    String name = partitionName(day);
    String from = day.atStartOfDay(ZoneOffset.UTC).toInstant().toString();
    String to = day.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().toString();
    inTransaction(
        connection,
        LOCK_TIMEOUT,
        s -> {
          s.execute("CREATE TABLE IF NOT EXISTS " + name + " (LIKE readings INCLUDING DEFAULTS)");
          s.execute(
              "WITH moved AS (DELETE FROM "
                  + DEFAULT_PARTITION
                  + " WHERE time >= '"
                  + from
                  + "' AND time < '"
                  + to
                  + "' RETURNING *) INSERT INTO "
                  + name
                  + " SELECT * FROM moved");
          s.execute(
              "ALTER TABLE readings ATTACH PARTITION "
                  + name
                  + " FOR VALUES FROM ('"
                  + from
                  + "') TO ('"
                  + to
                  + "')");
        });
  }

  private static List<LocalDate> existingPartitions(Connection connection) throws SQLException {
    List<LocalDate> days = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    + " WHERE i.inhparent = to_regclass('readings')")) {
      while (rows.next()) {
        String name = rows.getString(1);
        if (name.startsWith(PARTITION_PREFIX)) {
          days.add(LocalDate.parse(name.substring(PARTITION_PREFIX.length()), DAY));
        }
      }
    }
    return days;
  }

  static String partitionName(LocalDate day) {
    return PARTITION_PREFIX + DAY.format(day);
  }

  private static void deleteOlderThan(Connection connection, String table, Instant cutoff)
      throws SQLException {
    boolean autoCommit = connection.getAutoCommit();
    connection.setAutoCommit(true);
    try (PreparedStatement delete =
        connection.prepareStatement("DELETE FROM " + table + " WHERE time < ?")) {
      delete.setTimestamp(1, Timestamp.from(cutoff));
      int deleted = delete.executeUpdate();
      if (deleted > 0) {
        LOG.info("Deleted {} readings older than {} from {}", deleted, cutoff, table);
      }
    } finally {
      connection.setAutoCommit(autoCommit);
    }
  }

  private interface StatementWork {
    void run(Statement statement) throws SQLException;
  }

  private static void inTransaction(Connection connection, String lockTimeout, StatementWork work)
      throws SQLException {
    boolean autoCommit = connection.getAutoCommit();
    connection.setAutoCommit(false);
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET LOCAL lock_timeout = '" + lockTimeout + "'");
      work.run(statement);
      connection.commit();
    } catch (SQLException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(autoCommit);
    }
  }
}
