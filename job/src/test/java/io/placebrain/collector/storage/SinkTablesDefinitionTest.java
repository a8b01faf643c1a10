package io.placebrain.collector.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.flink.connector.postgres.copy.CopySinkTables;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The schema creates the COPY sink's rejected-rows and progress tables with its own DDL (storage is
 * shared with the query service, which must not depend on a Flink connector); their columns must be
 * those of the connector's published definitions ({@link CopySinkTables}).
 */
class SinkTablesDefinitionTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @Test
  void theSchemasSinkTablesAreTheConnectorsDefinitions() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
      try (var statement = connection.createStatement()) {
        statement.execute("CREATE SCHEMA connector");
        statement.execute(
            CopySinkTables.rejectedRowsDdl("connector." + CollectorSchema.REJECTED_ROWS));
        statement.execute(CopySinkTables.progressDdl("connector." + CollectorSchema.SINK_PROGRESS));
      }
      for (String table : List.of(CollectorSchema.REJECTED_ROWS, CollectorSchema.SINK_PROGRESS)) {
        assertThat(columns(connection, "public", table))
            .as(table)
            .isNotEmpty()
            .isEqualTo(columns(connection, "connector", table));
        assertThat(primaryKey(connection, "public", table))
            .as(table + "'s primary key")
            .isEqualTo(primaryKey(connection, "connector", table));
      }
    }
  }

  private static List<String> columns(Connection connection, String schema, String table)
      throws Exception {
    return strings(
        connection,
        "SELECT column_name || ' ' || data_type || ' ' || is_nullable || ' '"
            + " || coalesce(column_default, '') FROM information_schema.columns"
            + " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        schema,
        table);
  }

  private static List<String> primaryKey(Connection connection, String schema, String table)
      throws Exception {
    return strings(
        connection,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            + " AND a.attnum = ANY (i.indkey) WHERE i.indisprimary"
            + " AND i.indrelid = (quote_ident(?) || '.' || quote_ident(?))::regclass"
            + " ORDER BY a.attname",
        schema,
        table);
  }

  private static List<String> strings(Connection connection, String sql, String... parameters)
      throws Exception {
    List<String> values = new ArrayList<>();
    try (PreparedStatement query = connection.prepareStatement(sql)) {
      for (int i = 0; i < parameters.length; i++) {
        query.setString(i + 1, parameters[i]);
      }
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          values.add(rows.getString(1));
        }
      }
    }
    return values;
  }
}
