package io.placebrain.flink.connector.postgres.copy;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.SQLException;
import org.apache.flink.annotation.PublicEvolving;

/** Opens connections to the database; a seam so tests can inject failing connections. */
@FunctionalInterface
@PublicEvolving
public interface ConnectionFactory extends Serializable {

  Connection connect() throws SQLException;

  /**
   * Connections from a JDBC URL through the PostgreSQL driver; user and password may be null when
   * the URL carries them.
   */
  static ConnectionFactory of(String jdbcUrl, String user, String password) {
    return new DriverManagerConnections(jdbcUrl, user, password);
  }
}
