package io.placebrain.collector.query.deletion;

import io.placebrain.collector.storage.DeviceData;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Deletes devices' alerts, then readings, in one transaction. Without a statement timeout: a bulk
 * deletion of devices with months of data may take a while, and it must finish.
 */
public final class DeviceDeleter {

  private final DataSource pool;

  public DeviceDeleter(DataSource pool) {
    this.pool = pool;
  }

  public DeviceData.Deleted delete(Collection<UUID> devices) throws SQLException {
    try (Connection connection = pool.getConnection()) {
      connection.setAutoCommit(false);
      try {
        DeviceData.Deleted deleted = DeviceData.delete(connection, devices);
        connection.commit();
        return deleted;
      } catch (SQLException | RuntimeException e) {
        connection.rollback();
        throw e;
      }
    }
  }
}
