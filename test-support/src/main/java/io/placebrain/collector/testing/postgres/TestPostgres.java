package io.placebrain.collector.testing.postgres;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

/**
 * A PostgreSQL server for tests. Each test class works in a database of its own, created here and
 * dropped afterwards, so tests never see each other's rows and an external server is left as it was
 * found.
 */
public abstract class TestPostgres implements AutoCloseable {

  /** Databases created by tests carry this prefix, so a leftover is easy to recognise. */
  public static final String TEST_DATABASE_PREFIX = "collector_test_";

  /** JDBC URL of the database named, without credentials. */
  public abstract String jdbcUrl(String database);

  /** The database tests connect to for administration (creating and dropping databases). */
  protected abstract String adminDatabase();

  public abstract String user();

  public abstract String password();

  /** Whether {@link #stop()} and {@link #start()} can simulate an outage. */
  public abstract boolean canRestart();

  /** Stops the server, keeping its data: clients see a database outage until {@link #start()}. */
  public void stop() {
    throw new UnsupportedOperationException(this + " cannot be stopped by a test");
  }

  /** Whether {@link #crash()} can stop the server the way a crash does. */
  public boolean canCrash() {
    return false;
  }

  /**
   * Stops the server as a crash would, PostgreSQL's immediate shutdown: no shutdown checkpoint,
   * sessions cut off, open transactions lost; prepared ones survive through WAL recovery at the
   * next {@link #start()}.
   */
  public void crash() {
    throw new UnsupportedOperationException(this + " cannot be crashed by a test");
  }

  /**
   * Starts a server stopped by {@link #stop()} or {@link #crash()} again, on the same port with the
   * same data.
   */
  public void start() {
    throw new UnsupportedOperationException(this + " cannot be started by a test");
  }

  public Connection connect(String database) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", user());
    if (password() != null) {
      props.setProperty("password", password());
    }
    return DriverManager.getConnection(jdbcUrl(database), props);
  }

  /** Creates an empty database with a unique name. */
  public TestDatabase createDatabase() {
    String name = TEST_DATABASE_PREFIX + UUID.randomUUID().toString().replace("-", "");
    try (Connection admin = connect(adminDatabase());
        Statement statement = admin.createStatement()) {
      statement.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "Could not create a test database on "
              + this
              + " (the user needs the CREATEDB privilege): "
              + e.getMessage(),
          e);
    }
    return new TestDatabase(this, name);
  }

  /**
   * Creates a database as a copy of {@code template}, schema and data: far cheaper than building
   * the same schema again where that is costly (e.g. a hypertable with its chunks). The template is
   * marked as one and closed to connections first, then the sessions still in it are ended: {@code
   * CREATE DATABASE} refuses a template anyone is connected to, and TimescaleDB's background
   * scheduler connects to every database as soon as it has the extension (once closed, it does not
   * come back). {@link #dropDatabase} reverses both marks.
   */
  public TestDatabase copyDatabase(TestDatabase template) throws SQLException {
    if (!template.name().startsWith(TEST_DATABASE_PREFIX)) {
      throw new IllegalArgumentException(
          "Refusing to end the sessions of a database tests did not create: " + template.name());
    }
    String name = TEST_DATABASE_PREFIX + UUID.randomUUID().toString().replace("-", "");
    try (Connection admin = connect(adminDatabase());
        Statement statement = admin.createStatement()) {
      statement.execute(
          "ALTER DATABASE " + template.name() + " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false");
      // CREATE DATABASE waits up to 5 s for the ended sessions to go.
      statement.execute(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
              + template.name()
              + "' AND pid <> pg_backend_pid()");
      statement.execute("CREATE DATABASE " + name + " TEMPLATE " + template.name());
    }
    return new TestDatabase(this, name);
  }

  /** Drops a database created by {@link #createDatabase()}, disconnecting whoever still uses it. */
  public void dropDatabase(String name) {
    if (!name.startsWith(TEST_DATABASE_PREFIX)) {
      throw new IllegalArgumentException(
          "Refusing to drop a database tests did not create: " + name);
    }
    // A template (copyDatabase) can be neither connected to nor dropped as one.
    try (Connection admin = connect(adminDatabase());
        Statement statement = admin.createStatement()) {
      statement.execute(
          "ALTER DATABASE " + name + " WITH IS_TEMPLATE false ALLOW_CONNECTIONS true");
    } catch (SQLException e) {
      if (!"3D000".equals(e.getSQLState())) {
        throw new IllegalStateException("Could not reopen test database " + name, e);
      }
    }
    // A prepared transaction keeps its database from being dropped; a test that failed between
    // prepare and commit may leave one.
    try (Connection database = connect(name);
        Statement statement = database.createStatement()) {
      List<String> prepared = new ArrayList<>();
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()")) {
        while (rows.next()) {
          prepared.add(rows.getString(1));
        }
      }
      for (String gid : prepared) {
        statement.execute("ROLLBACK PREPARED '" + gid.replace("'", "''") + "'");
      }
    } catch (SQLException e) {
      if (!"3D000".equals(e.getSQLState())) { // invalid_catalog_name: already gone
        throw new IllegalStateException("Could not clean test database " + name, e);
      }
    }
    try (Connection admin = connect(adminDatabase());
        Statement statement = admin.createStatement()) {
      statement.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (SQLException e) {
      throw new IllegalStateException("Could not drop test database " + name, e);
    }
  }
}
