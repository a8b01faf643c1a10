package io.placebrain.flink.connector.postgres.copy.internal;

import java.sql.Connection;
import java.sql.SQLException;
import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Closing connections that may already be broken, without hiding the failure that broke them. */
@Internal
public final class Connections {

  private static final Logger LOG = LoggerFactory.getLogger(Connections.class);

  private Connections() {}

  /** Closes the connection if there is one; a failure to close is only logged. Returns null. */
  public static Connection closeQuietly(Connection connection) {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        LOG.debug("Closing a failed connection", e);
      }
    }
    return null;
  }
}
