package io.placebrain.collector.local.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local stack's PostgreSQL keeps its data directory across starts, so it writes durably, and it
 * listens where the stack's bind address says (loopback by default), not on every interface.
 */
class LocalPostgresITCase {

  @TempDir Path data;

  /** Leaves no server behind when a test fails half-way. */
  @AfterEach
  void stopWhatIsLeft() throws Exception {
    LocalPostgres.stopLeftover(data, System.out);
  }

  @Test
  void durableAndListeningOnlyOnTheBindAddress() throws Exception {
    try (LocalPostgres postgres =
        LocalPostgres.start(data, "127.0.0.1", Ports.free(), "collector", "secret")) {
      try (Connection connection =
              DriverManager.getConnection(postgres.jdbcUrl(), "collector", "secret");
          Statement statement = connection.createStatement()) {
        assertThat(setting(statement, "fsync")).isEqualTo("on");
        assertThat(setting(statement, "synchronous_commit")).isEqualTo("on");
        assertThat(setting(statement, "listen_addresses")).isEqualTo("127.0.0.1");
      }
    }
  }

  /**
   * A run killed with SIGKILL never stops its PostgreSQL: the server keeps running on the data
   * directory and port. The next start recognises it by the data directory's postmaster.pid, stops
   * it, and starts on the same data.
   */
  @Test
  void aServerLeftRunningByARunKilledWithSigkillIsStoppedAndTheDataKept() throws Exception {
    int port = Ports.free();
    Process run =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElse("java"),
                "-cp",
                System.getProperty("java.class.path"),
                KilledRun.class.getName(),
                data.toString(),
                Integer.toString(port))
            .redirectErrorStream(true)
            .start();
    try (BufferedReader output =
        new BufferedReader(new InputStreamReader(run.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = output.readLine()) != null && !line.equals(KilledRun.READY)) {
        // start-up output
      }
      assertThat(line).as("the run started PostgreSQL and wrote a row").isEqualTo(KilledRun.READY);
      run.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook, no stop
    }
    long pid =
        Long.parseLong(
            Files.readAllLines(data.resolve("postgres").resolve("postmaster.pid")).get(0).trim());
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive))
        .as("the killed run's PostgreSQL is still running")
        .contains(true);
    assertThat(Ports.isFree(port)).isFalse();

    ByteArrayOutputStream console = new ByteArrayOutputStream();
    LocalPostgres.stopLeftover(data, new PrintStream(console, true, StandardCharsets.UTF_8));

    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).isNotEqualTo(Optional.of(true));
    assertThat(console.toString(StandardCharsets.UTF_8)).contains("left running by an earlier run");
    try (LocalPostgres again = LocalPostgres.start(data, "127.0.0.1", port, "collector", "secret");
        Connection connection =
            DriverManager.getConnection(again.jdbcUrl(), "collector", "secret");
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SELECT n FROM kept")) {
      assertThat(row.next()).isTrue();
      assertThat(row.getInt(1)).isEqualTo(42);
    }
  }

  /** A run of the stack's PostgreSQL in its own process, to be killed. */
  public static final class KilledRun {
    static final String READY = "collector-test: ready";

    public static void main(String[] args) throws Exception {
      LocalPostgres postgres =
          LocalPostgres.start(
              Path.of(args[0]), "127.0.0.1", Integer.parseInt(args[1]), "collector", "secret");
      try (Connection connection =
              DriverManager.getConnection(postgres.jdbcUrl(), "collector", "secret");
          Statement statement = connection.createStatement()) {
        statement.execute("CREATE TABLE kept (n int)");
        statement.execute("INSERT INTO kept VALUES (42)");
      }
      System.out.println(READY);
      System.out.flush();
      Thread.sleep(Long.MAX_VALUE);
    }
  }

  private static String setting(Statement statement, String name) throws Exception {
    try (ResultSet row = statement.executeQuery("SHOW " + name)) {
      row.next();
      return row.getString(1);
    }
  }
}
