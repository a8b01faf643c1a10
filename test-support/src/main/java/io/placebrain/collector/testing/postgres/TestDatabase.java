package io.placebrain.collector.testing.postgres;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/** A database of one test class's own on a {@link TestPostgres} server. */
public final class TestDatabase {

  private final TestPostgres server;
  private final String name;

  TestDatabase(TestPostgres server, String name) {
    this.server = server;
    this.name = name;
  }

  public String name() {
    return name;
  }

  /** JDBC URL without credentials; pass {@link #user()} and {@link #password()} beside it. */
  public String jdbcUrl() {
    return server.jdbcUrl(name);
  }

  public String user() {
    return server.user();
  }

  /** The password, or null when the server needs none. */
  public String password() {
    return server.password();
  }

  /** Connection properties with the credentials, for {@code DriverManager.getConnection}. */
  public Properties credentials() {
    Properties props = new Properties();
    props.setProperty("user", user());
    if (password() != null) {
      props.setProperty("password", password());
    }
    return props;
  }

  public TestPostgres server() {
    return server;
  }

  public Connection connect() throws SQLException {
    return server.connect(name);
  }

  /** Runs one statement. */
  public void execute(String sql) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  /** Runs a query whose answer is one number, such as {@code select count(*) ...}. */
  public long queryLong(String sql) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      if (!rows.next()) {
        throw new SQLException("No row from: " + sql);
      }
      return rows.getLong(1);
    }
  }

  public void drop() {
    server.dropDatabase(name);
  }

  @Override
  public String toString() {
    return name + " on " + server;
  }
}
