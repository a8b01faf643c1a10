package io.placebrain.flink.connector.postgres.copy;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.SQLException;
import org.apache.flink.annotation.PublicEvolving;

/** Work the sink runs on a connection of its own, such as a schema migration. */
@FunctionalInterface
@PublicEvolving
public interface ConnectionAction extends Serializable {

  void run(Connection connection) throws SQLException;
}
