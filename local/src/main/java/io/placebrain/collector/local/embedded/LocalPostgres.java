package io.placebrain.collector.local.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * PostgreSQL from the server binaries on Maven Central, its data directory in the local data
 * directory (initialised on first start, reused afterwards), with the database and user the job and
 * the query service expect.
 */
public final class LocalPostgres implements AutoCloseable {

  public static final String DATABASE = "telemetry_db";

  private final EmbeddedPostgres server;
  private final int port;

  private LocalPostgres(EmbeddedPostgres server, int port) {
    this.server = server;
    this.port = port;
  }

  public static LocalPostgres start(Path directory, int port, String user, String password)
      throws IOException, SQLException {
    Path data = directory.resolve("postgres");
    Files.createDirectories(data);
    EmbeddedPostgres server =
        EmbeddedPostgres.builder()
            .setDataDirectory(data)
            .setCleanDataDirectory(false)
            .setPort(port)
            .setPGStartupWait(Duration.ofSeconds(60))
            // The exactly-once sink commits with two-phase commit.
            .setServerConfig("max_prepared_transactions", "64")
            .setServerConfig("listen_addresses", "*")
            .setRegisterShutdownHook(false)
            .start();
    LocalPostgres postgres = new LocalPostgres(server, port);
    postgres.createDatabase(user, password);
    return postgres;
  }

  private void createDatabase(String user, String password) throws SQLException {
    try (Connection connection = server.getPostgresDatabase().getConnection();
        Statement statement = connection.createStatement()) {
      if (!exists(connection, "SELECT 1 FROM pg_roles WHERE rolname = ?", user)) {
        // Identifiers cannot be bound; quote_ident/quote_literal make any name safe.
        statement.execute(
            "DO $$ BEGIN EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', "
                + literal(user)
                + ", "
                + literal(password == null ? "" : password)
                + "); END $$");
      }
      if (!exists(connection, "SELECT 1 FROM pg_database WHERE datname = ?", DATABASE)) {
        statement.execute(
            "CREATE DATABASE " + DATABASE + " OWNER \"" + user.replace("\"", "\"\"") + "\"");
      }
    }
  }

  private static String literal(String text) {
    return "'" + text.replace("'", "''") + "'";
  }

  private static boolean exists(Connection connection, String sql, String value)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setString(1, value);
      try (ResultSet row = statement.executeQuery()) {
        return row.next();
      }
    }
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://localhost:" + port + "/" + DATABASE;
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
