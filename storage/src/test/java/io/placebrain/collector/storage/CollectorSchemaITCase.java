package io.placebrain.collector.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The schema on a real server: created concurrently, idempotent, retention and partitions. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CollectorSchemaITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @Test
  @Order(1)
  void concurrentMigrationsAgreeAndSucceed() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<StorageMode>> results = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        Callable<StorageMode> migrate =
            () -> {
              try (Connection connection = DB.get().connect()) {
                return CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
              }
            };
        results.add(pool.submit(migrate));
      }
      StorageMode first = results.get(0).get();
      for (Future<StorageMode> result : results) {
        assertThat(result.get()).isEqualTo(first);
      }
      try (Connection connection = DB.get().connect()) {
        assertThat(CollectorSchema.detect(connection)).isEqualTo(first);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  @Order(2)
  void migratingAgainChangesNothingAndKeepsRows() throws Exception {
    TestDatabase db = DB.get();
    UUID device = UUID.randomUUID();
    insertReading(db, Instant.now().minusSeconds(60), device, "temp", 21.5);
    long before = db.queryLong("SELECT count(*) FROM readings");

    try (Connection connection = db.connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }

    assertThat(db.queryLong("SELECT count(*) FROM readings")).isEqualTo(before);
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'readings_device_key_time_idx'"))
        .isEqualTo(1);
  }

  @Test
  @Order(3)
  void upToDateSchemaNeedsNoTableLocksBesideOpenWriters() throws Exception {
    TestDatabase db = DB.get();
    // A writer's prepared transaction holds a lock on readings until it is committed; a
    // restarting subtask's migration must not wait for it.
    db.execute(
        "BEGIN; INSERT INTO readings VALUES (now(), gen_random_uuid(), 'held', 1);"
            + " PREPARE TRANSACTION 'schema-test:1:0:0'");
    try (Connection connection = db.connect()) {
      try (Statement statement = connection.createStatement()) {
        statement.execute("SET lock_timeout = '1s'");
      }
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
      ReadingsMaintenance.run(
          connection, CollectorSchema.detect(connection), SchemaSettings.DEFAULTS, Instant.now());
    } finally {
      db.execute("ROLLBACK PREPARED 'schema-test:1:0:0'");
    }
  }

  @Test
  @Order(4)
  void alertsTableHasTheSpecifiedColumnsAndDefaults() throws Exception {
    TestDatabase db = DB.get();
    UUID id = UUID.randomUUID();
    db.execute("INSERT INTO alerts (id, key, value) VALUES ('" + id + "', 'temp', 30)");

    assertThat(db.queryLong("SELECT count(*) FROM alerts WHERE status = 'active'")).isEqualTo(1);
    List<String> columns = new ArrayList<>();
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'alerts'"
                    + " ORDER BY ordinal_position")) {
      while (rows.next()) {
        columns.add(rows.getString(1));
      }
    }
    assertThat(columns)
        .containsExactly(
            "id",
            "sensor_id",
            "threshold_id",
            "device_id",
            "place_id",
            "key",
            "value",
            "threshold_value",
            "threshold_type",
            "severity",
            "status",
            "created_at",
            "resolved_at");
  }

  @Test
  @Order(5)
  void retentionIsCarriedOut() throws Exception {
    TestDatabase db = DB.get();
    StorageMode mode;
    try (Connection connection = db.connect()) {
      mode = CollectorSchema.detect(connection);
    }
    if (mode == StorageMode.TIMESCALEDB) {
      // TimescaleDB runs retention and compression itself; check the policies are in place.
      assertThat(
              db.queryLong(
                  "SELECT count(*) FROM timescaledb_information.jobs WHERE hypertable_name ="
                      + " 'readings' AND proc_name IN ('policy_retention', 'policy_compression')"))
          .isEqualTo(2);
      // Chunks exist before any writer needs them, up to a few days ahead.
      assertThat(
              db.queryLong(
                  "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name ="
                      + " 'readings' AND range_end > now() + interval '2 days'"))
          .isPositive();
      assertThat(db.queryLong("SELECT count(*) FROM readings WHERE key = ''")).isZero();
      return;
    }
    assertThat(mode).isEqualTo(StorageMode.PARTITIONED);
    Instant now = Instant.now();
    LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
    assertThat(partitionExists(db, today)).isTrue();
    assertThat(partitionExists(db, today.plusDays(SchemaSettings.DEFAULTS.partitionsAhead())))
        .isTrue();

    // A reading beyond every partition waits in the default partition, then moves into its own.
    SchemaSettings settings = SchemaSettings.DEFAULTS;
    Instant farFuture = now.plus(Duration.ofDays(10));
    UUID device = UUID.randomUUID();
    insertReading(db, farFuture, device, "late", 1.0);
    assertThat(db.queryLong("SELECT count(*) FROM ONLY readings_default WHERE key = 'late'"))
        .isEqualTo(1);
    try (Connection connection = db.connect()) {
      ReadingsMaintenance.run(connection, mode, settings, farFuture);
    }
    assertThat(db.queryLong("SELECT count(*) FROM readings_default WHERE key = 'late'")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM readings WHERE key = 'late'")).isEqualTo(1);

    // Partitions and rows out of retention go; the rest stays.
    insertReading(db, now.minus(Duration.ofDays(200)), device, "ancient", 2.0);
    Instant muchLater = now.plus(Duration.ofDays(95));
    try (Connection connection = db.connect()) {
      ReadingsMaintenance.run(connection, mode, settings, muchLater);
    }
    assertThat(partitionExists(db, today)).isFalse();
    assertThat(db.queryLong("SELECT count(*) FROM readings WHERE key = 'ancient'")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM readings WHERE key = 'late'")).isEqualTo(1);
  }

  private static boolean partitionExists(TestDatabase db, LocalDate day) throws Exception {
    return db.queryLong(
            "SELECT count(*) FROM pg_class WHERE relname = '"
                + ReadingsMaintenance.partitionName(day)
                + "'")
        == 1;
  }

  private static void insertReading(
      TestDatabase db, Instant time, UUID device, String key, double value) throws Exception {
    try (Connection connection = db.connect();
        PreparedStatement insert =
            connection.prepareStatement(
                "INSERT INTO readings (time, device_id, key, value) VALUES (?, ?, ?, ?)")) {
      insert.setTimestamp(1, Timestamp.from(time));
      insert.setObject(2, device);
      insert.setString(3, key);
      insert.setDouble(4, value);
      insert.executeUpdate();
    }
  }
}
