package io.placebrain.collector.local.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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

  public static LocalPostgres start(
      Path directory, String bindAddress, int port, String user, String password)
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
            .setServerConfig("listen_addresses", bindAddress)
            // The data directory outlives the process: commits must survive a crash of the
            // machine too (the library starts the server with fsync off unless told otherwise).
            .setServerConfig("fsync", "on")
            .setServerConfig("synchronous_commit", "on")
            .setRegisterShutdownHook(false)
            .start();
    LocalPostgres postgres = new LocalPostgres(server, port);
    postgres.createDatabase(user, password);
    return postgres;
  }

  /**
   * Stops a PostgreSQL server that a previous run left on this data directory, recognised by the
   * data directory's {@code postmaster.pid}: its process is alive, is a postgres server and serves
   * this very directory. A fast shutdown (SIGINT): the data is safe, a crash-recovery is not needed
   * at the next start. Anything else is left alone.
   */
  public static void stopLeftover(Path directory, PrintStream out)
      throws IOException, InterruptedException {
    Path data = directory.resolve("postgres");
    Path pidFile = data.resolve("postmaster.pid");
    if (!Files.isRegularFile(pidFile)) {
      return;
    }
    List<String> lines = Files.readAllLines(pidFile);
    if (lines.size() < 2) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(lines.get(0).trim());
    } catch (NumberFormatException e) {
      return;
    }
    Optional<ProcessHandle> process = ProcessHandle.of(pid);
    boolean ours =
        process.isPresent()
            && process.get().isAlive()
            && process.get().info().command().map(c -> c.endsWith("postgres")).orElse(false)
            && servesDirectory(pid, data);
    if (!ours) {
      return; // a stale file: PostgreSQL itself deals with it at start-up
    }
    out.println(
        "A PostgreSQL left running by an earlier run (process "
            + pid
            + ") serves "
            + data
            + "; stopping it.");
    new ProcessBuilder("kill", "-INT", Long.toString(pid)).inheritIO().start().waitFor();
    try {
      process.get().onExit().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException(
          "PostgreSQL (process "
              + pid
              + ") on "
              + data
              + " did not stop within 60 s; stop it first",
          e);
    }
  }

  /**
   * Whether process {@code pid} is the postmaster of {@code data}: it runs in that directory (the
   * postmaster changes into its data directory). The pid file alone cannot tell: a stale file's
   * process id may by now belong to another PostgreSQL, e.g. the machine's own after a reboot.
   */
  private static boolean servesDirectory(long pid, Path data) {
    try {
      return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd"))
          .equals(data.toRealPath());
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return false; // cannot tell: leave it alone
    }
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
