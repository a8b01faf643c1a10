package io.placebrain.flink.connector.postgres.copy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * The default {@link ConnectionFactory}: the PostgreSQL driver through {@link DriverManager}; made
 * by {@link ConnectionFactory#of}.
 */
final class DriverManagerConnections implements ConnectionFactory {
  private final String jdbcUrl;
  private final String user;
  private final String password;

  DriverManagerConnections(String jdbcUrl, String user, String password) {
    this.jdbcUrl = jdbcUrl;
    this.user = user;
    this.password = password;
  }

  @Override
  public Connection connect() throws SQLException {
    Properties properties = new Properties();
    if (user != null) {
      properties.setProperty("user", user);
    }
    if (password != null) {
      properties.setProperty("password", password);
    }
    // Fail fast on a dead server instead of hanging a task thread.
    properties.setProperty("connectTimeout", "10");
    properties.setProperty("socketTimeout", "300");
    properties.setProperty("tcpKeepAlive", "true");
    properties.setProperty("ApplicationName", PostgresCopySinkBuilder.DEFAULT_APPLICATION_NAME);
    loadDriver();
    return DriverManager.getConnection(jdbcUrl, properties);
  }

  /**
   * The driver registers itself when its class initialises. DriverManager looks for drivers on the
   * class path only once per JVM, so on a session cluster a later job must load its own (the
   * earlier job's is deregistered when its classes are released).
   */
  private static void loadDriver() throws SQLException {
    try {
      Class.forName("org.postgresql.Driver");
    } catch (ClassNotFoundException e) {
      throw new SQLException("The PostgreSQL JDBC driver is not in the job jar", "08001", e);
    }
  }

  @Override
  public String toString() {
    return jdbcUrl;
  }
}
