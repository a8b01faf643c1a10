package io.placebrain.collector.testing.postgres;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real PostgreSQL server (binaries from Maven Central) running beside the test JVM on a free
 * loopback port. Its data directory outlives {@link #stop()}, so an outage test can start it again
 * with everything committed before.
 */
public final class EmbeddedPostgresServer extends TestPostgres {

  private final Path dataDirectory;
  private final int port;
  private EmbeddedPostgres server;

  private EmbeddedPostgresServer(Path dataDirectory, int port) {
    this.dataDirectory = dataDirectory;
    this.port = port;
  }

  public static EmbeddedPostgresServer launch() {
    try {
      EmbeddedPostgresServer postgres =
          new EmbeddedPostgresServer(Files.createTempDirectory("collector-pg-"), freePort());
      postgres.startServer();
      return postgres;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start the embedded PostgreSQL server", e);
    }
  }

  private void startServer() {
    try {
      server =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDirectory)
              // Never let the library delete the directory on stop: a restart must find the data.
              // It is a fresh temporary directory, so the first start initialises it.
              .setCleanDataDirectory(false)
              .setPort(port)
              // Crash recovery after crash() on a loaded machine can take longer than a start.
              .setPGStartupWait(Duration.ofSeconds(120))
              // Two-phase commit needs prepared transactions; they are off by default.
              .setServerConfig("max_prepared_transactions", "64")
              .setServerConfig("max_connections", "200")
              // Durability across an OS crash is not what tests check; a server restart keeps
              // everything committed either way.
              .setServerConfig("fsync", "off")
              .setServerConfig("full_page_writes", "off")
              .setRegisterShutdownHook(false)
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start PostgreSQL on port " + port, e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Override
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://localhost:" + port + "/" + database;
  }

  @Override
  protected String adminDatabase() {
    return "postgres";
  }

  @Override
  public String user() {
    return "postgres";
  }

  @Override
  public String password() {
    return null;
  }

  @Override
  public boolean canRestart() {
    return true;
  }

  @Override
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    try {
      server.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not stop PostgreSQL", e);
    } finally {
      server = null;
    }
  }

  @Override
  public boolean canCrash() {
    return true;
  }

  /** SIGQUIT to the postmaster: what {@code pg_ctl stop -m immediate} sends. */
  @Override
  public synchronized void crash() {
    if (server == null) {
      return;
    }
    try {
      long pid = Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0));
      ProcessHandle postmaster =
          ProcessHandle.of(pid)
              .orElseThrow(() -> new IllegalStateException("no postmaster with pid " + pid));
      Process kill = new ProcessBuilder("kill", "-QUIT", String.valueOf(pid)).inheritIO().start();
      if (kill.waitFor() != 0) {
        throw new IllegalStateException("kill -QUIT " + pid + " failed");
      }
      postmaster.onExit().get(30, TimeUnit.SECONDS);
      // The library still holds a lock on the data directory; closing it releases the lock (its
      // own stop finds no server and logs that).
      server.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not crash PostgreSQL", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("PostgreSQL's postmaster did not exit on SIGQUIT", e);
    } finally {
      server = null;
    }
  }

  @Override
  public synchronized void start() {
    if (server == null) {
      startServer();
    }
  }

  @Override
  public synchronized void close() throws IOException {
    stop();
    try (var files = Files.walk(dataDirectory)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }

  @Override
  public String toString() {
    return "embedded PostgreSQL at localhost:" + port;
  }
}
