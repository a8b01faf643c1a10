package io.placebrain.collector.query.readings;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.ReadingsMaintenance;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.storage.StorageMode;
import io.placebrain.collector.testing.FreshDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The readings queries, exactly as the service binds them, are planned on the {@code (device_id,
 * key, time DESC)} index of a table of over a million rows: EXPLAIN shows no sequential scan of
 * readings, for the first (custom) plans and for the generic plan a server-prepared statement
 * switches to. With TimescaleDB, chunks older than 7 days are compressed first, as in production.
 */
class ReadingsIndexITCase {

  private static final Logger LOG = LoggerFactory.getLogger(ReadingsIndexITCase.class);

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static final UUID DEVICE = UUID.fromString("11111111-2222-4333-8444-555555555555");
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.HOURS);
  private static StorageMode mode;

  /**
   * A sequential scan of readings' rows: of the table, a daily partition ({@code readings_p…}, the
   * default partition) or an uncompressed TimescaleDB chunk ({@code _hyper_…}). A compressed chunk
   * ({@code compress_hyper_…}) holds one row per device, key and batch of up to 1000 readings; the
   * planner may scan a small one whole, which reads a few pages, never the readings themselves.
   */
  private static final String ROW_SCAN = "Seq Scan on (readings|_hyper_)";

  @BeforeAll
  static void loadAMillionRows() throws Exception {
    try (Connection connection = DB.get().connect();
        Statement statement = connection.createStatement()) {
      mode = CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
      ReadingsMaintenance.run(connection, mode, SchemaSettings.DEFAULTS, NOW);
      long started = System.nanoTime();
      // The device under test: 40 keys, a reading every 30 minutes for 60 days.
      statement.execute(
          "INSERT INTO readings (time, device_id, key, value)"
              + " SELECT timestamptz '"
              + NOW
              + "' - i * interval '30 minutes', '"
              + DEVICE
              + "', 'key' || k, random()"
              + " FROM generate_series(0, 2879) AS i, generate_series(1, 40) AS k");
      // 100 other devices with 5 keys each over the same 60 days.
      statement.execute(
          "INSERT INTO readings (time, device_id, key, value)"
              + " SELECT timestamptz '"
              + NOW
              + "' - i * interval '48 minutes',"
              + " ('00000000-0000-4000-8000-' || lpad(d::text, 12, '0'))::uuid, 'k' || k, random()"
              + " FROM generate_series(0, 1779) AS i, generate_series(1, 100) AS d,"
              + " generate_series(1, 5) AS k");
      if (mode == StorageMode.TIMESCALEDB) {
        // As in production, where the policy compresses chunks after 7 days; done here at once so
        // the plans do not depend on when the policy's background job happens to run.
        statement.execute(
            "SELECT count(compress_chunk(chunk, if_not_compressed => TRUE))"
                + " FROM show_chunks('readings', older_than => INTERVAL '7 days') AS chunk");
      }
      // The whole database: compressed chunks live in their own internal tables.
      statement.execute("ANALYZE");
      LOG.info(
          "Loaded readings in {} ms ({} mode)", (System.nanoTime() - started) / 1_000_000, mode);
    }
    assertThat(DB.get().queryLong("SELECT count(*) FROM readings")).isGreaterThan(1_000_000);
  }

  @Test
  void latestReadingsUseTheIndex() throws Exception {
    assertIndexOnly(
        "latest",
        ReadingsQueries.LATEST,
        (connection, statement) -> {
          statement.setObject(1, DEVICE);
          statement.setObject(2, DEVICE);
          statement.setObject(3, DEVICE);
          statement.setInt(4, ReadingsQueries.MAX_ROWS + 1);
        });
  }

  @Test
  void rawReadingsUseTheIndex() throws Exception {
    for (List<String> keys : List.of(List.<String>of(), List.of("key7", "key12"))) {
      ReadingsRange range = new ReadingsRange(DEVICE, keys, NOW.minus(2, ChronoUnit.HOURS), NOW);
      assertIndexOnly(
          "raw " + keys,
          ReadingsQueries.withKeys(ReadingsQueries.RAW, range),
          (connection, statement) -> {
            int next = ReadingsQueries.bindRange(connection, statement, 1, range);
            statement.setInt(next, ReadingsQueries.MAX_ROWS + 1);
          });
    }
  }

  @Test
  void thirtyDayHourlyAggregatesUseTheIndex() throws Exception {
    for (List<String> keys : List.of(List.<String>of(), List.of("key3"))) {
      ReadingsRange range = new ReadingsRange(DEVICE, keys, NOW.minus(30, ChronoUnit.DAYS), NOW);
      assertIndexOnly(
          "aggregates " + keys,
          ReadingsQueries.withKeys(ReadingsQueries.aggregatesSql(mode), range),
          (connection, statement) -> {
            int next = ReadingsQueries.bindAggregates(connection, statement, mode, range, 3600);
            statement.setInt(next, ReadingsQueries.MAX_ROWS + 1);
          });
    }
  }

  /** Binds a statement's parameters. */
  @FunctionalInterface
  private interface Binder {
    void bind(Connection connection, PreparedStatement statement) throws SQLException;
  }

  private static void assertIndexOnly(String name, String sql, Binder binder) throws Exception {
    for (String planMode : List.of("force_custom_plan", "force_generic_plan")) {
      try (Connection connection = DB.get().connect()) {
        try (Statement statement = connection.createStatement()) {
          statement.execute("SET plan_cache_mode = " + planMode);
        }
        String plan = explain(connection, "EXPLAIN " + sql, binder);
        LOG.info("Plan of {} ({}):\n{}", name, planMode, plan);
        assertThat(plan).as("%s (%s)", name, planMode).doesNotContainPattern(ROW_SCAN);
        assertThat(plan).as("%s (%s)", name, planMode).contains("key_time_idx");
      }
    }
    try (Connection connection = DB.get().connect()) {
      String analyzed = explain(connection, "EXPLAIN (ANALYZE, TIMING OFF) " + sql, binder);
      LOG.info(
          "{}: {}",
          name,
          analyzed.lines().filter(line -> line.contains("Execution Time")).findFirst().orElse(""));
    }
  }

  private static String explain(Connection connection, String sql, Binder binder)
      throws SQLException {
    StringBuilder plan = new StringBuilder();
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      binder.bind(connection, statement);
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          plan.append(rows.getString(1)).append('\n');
        }
      }
    }
    return plan.toString();
  }
}
