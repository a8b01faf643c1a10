package io.placebrain.collector.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The alerts sink's statement, batched as Flink's JDBC sink batches it, against a real PostgreSQL:
 * idempotent upserts, and rows the database refuses kept aside instead of failing the batch.
 */
class AlertsTableSinkTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @BeforeAll
  static void createSchema() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    DB.get().execute("ALTER TABLE alerts ADD CONSTRAINT alerts_refuse CHECK (value <> -13)");
  }

  @BeforeEach
  void emptyTables() throws Exception {
    DB.get().execute("DELETE FROM alerts; DELETE FROM rejected_rows");
  }

  @Test
  void replaysChangeNothingAndAResolvedAlertStaysResolved() throws Exception {
    AlertEvent created = event(AlertEvent.CREATED, 31);
    AlertEvent resolved = event(AlertEvent.RESOLVED, 29);
    resolved.id = created.id;
    resolved.resolvedAtMicros = created.createdAtMicros + 60_000_000L;

    write(List.of(created, created, resolved, created, resolved));

    assertThat(DB.get().queryLong("SELECT count(*) FROM alerts WHERE status = 'resolved'"))
        .isEqualTo(1);
    assertThat(DB.get().queryLong("SELECT count(*) FROM alerts")).isEqualTo(1);
    assertThat(DB.get().queryLong("SELECT count(*) FROM rejected_rows")).isZero();
  }

  @Test
  void rowsTheDatabaseRefusesGoAsideAndTheRestOfTheBatchIsStored() throws Exception {
    AlertEvent good = event(AlertEvent.CREATED, 31);
    AlertEvent refused = event(AlertEvent.CREATED, -13);
    AlertEvent notUuid = event(AlertEvent.CREATED, 32);
    notUuid.sensorId = "not-a-uuid";
    AlertEvent nul = event(AlertEvent.CREATED, 33);
    nul.key = "te\u0000mp";

    write(List.of(good, refused, notUuid, nul));

    assertThat(DB.get().queryLong("SELECT count(*) FROM alerts WHERE value IN (31, 33)"))
        .isEqualTo(2);
    assertThat(DB.get().queryLong("SELECT count(*) FROM alerts WHERE key = 'te\\u0000mp'"))
        .isEqualTo(1);
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM rejected_rows WHERE target_table = 'alerts'"
                        + " AND sqlstate IN ('23514', '22P02') AND message <> ''"
                        + " AND (row_text LIKE '%"
                        + refused.id
                        + "%' OR row_text LIKE '%not-a-uuid%')"))
        .isEqualTo(2);
  }

  private static void write(List<AlertEvent> events) throws Exception {
    try (Connection connection = DB.get().connect();
        PreparedStatement statement = connection.prepareStatement(AlertsTableSink.UPSERT)) {
      for (AlertEvent event : events) {
        AlertsTableSink.bind(statement, event);
        statement.addBatch();
      }
      statement.executeBatch();
    }
  }

  private static AlertEvent event(String type, double value) {
    AlertEvent event = new AlertEvent();
    event.eventType = type;
    event.id = UUID.randomUUID().toString();
    event.sensorId = UUID.randomUUID().toString();
    event.thresholdId = UUID.randomUUID().toString();
    event.deviceId = UUID.randomUUID().toString();
    event.placeId = UUID.randomUUID().toString();
    event.key = "temp";
    event.value = value;
    event.thresholdValue = 30;
    event.thresholdType = "max";
    event.severity = "warning";
    event.createdAtMicros = 1_767_000_000_000_000L;
    return event;
  }
}
