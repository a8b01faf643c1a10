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
  void atMostOneActiveAlertPerThresholdAndSensorWhateverAReplayDecides() throws Exception {
    // The first run raised X; a replay began the same violation at a later reading: Y.
    AlertEvent x = event(AlertEvent.CREATED, 31);
    AlertEvent y = event(AlertEvent.CREATED, 32);
    y.sensorId = x.sensorId;
    y.thresholdId = x.thresholdId;
    y.createdAtMicros = x.createdAtMicros + 5_000_000L;
    // Another sensor's alert of the same threshold is not touched.
    AlertEvent other = event(AlertEvent.CREATED, 40);
    other.thresholdId = x.thresholdId;

    write(List.of(x, other, y, x));

    assertThat(activeIds()).containsExactlyInAnyOrder(y.id, other.id);

    // The replay resolves Y; a row it never knew (Z, older) goes with it.
    AlertEvent z = event(AlertEvent.CREATED, 33);
    z.sensorId = x.sensorId;
    z.thresholdId = x.thresholdId;
    z.createdAtMicros = x.createdAtMicros + 1_000_000L;
    DB.get()
        .execute(
            "INSERT INTO alerts (id, sensor_id, threshold_id, status, created_at) VALUES ('"
                + z.id
                + "', '"
                + z.sensorId
                + "', '"
                + z.thresholdId
                + "', 'active', now() - interval '1 year')");
    AlertEvent resolved = event(AlertEvent.RESOLVED, 29);
    resolved.id = y.id;
    resolved.sensorId = y.sensorId;
    resolved.thresholdId = y.thresholdId;
    resolved.createdAtMicros = y.createdAtMicros;
    resolved.resolvedAtMicros = y.createdAtMicros + 60_000_000L;
    write(List.of(resolved));

    assertThat(activeIds()).containsExactly(other.id);
  }

  @Test
  void anEarlierViolationReplayedAfterALaterOneIsStoredResolved() throws Exception {
    // Y is active; a replay only now reaches X, a violation of the same threshold and sensor
    // that began earlier and that the table never saw.
    AlertEvent y = event(AlertEvent.CREATED, 32);
    AlertEvent x = event(AlertEvent.CREATED, 31);
    x.sensorId = y.sensorId;
    x.thresholdId = y.thresholdId;
    x.createdAtMicros = y.createdAtMicros - 5_000_000L;

    write(List.of(y));
    write(List.of(x));

    assertThat(activeIds()).containsExactly(y.id);
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM alerts WHERE id = '"
                        + x.id
                        + "' AND status = 'resolved' AND resolved_at = (SELECT created_at FROM"
                        + " alerts WHERE id = '"
                        + y.id
                        + "')"))
        .isOne();
  }

  @Test
  void violationsThatBeganAtTheSameTimeLeaveOneActive() throws Exception {
    // A replay reached the same violation from another reading: another id, the same time.
    AlertEvent first = event(AlertEvent.CREATED, 31);
    AlertEvent second = event(AlertEvent.CREATED, 32);
    second.sensorId = first.sensorId;
    second.thresholdId = first.thresholdId;
    second.createdAtMicros = first.createdAtMicros;

    write(List.of(first));
    write(List.of(second));
    write(List.of(first));

    String larger = first.id.compareTo(second.id) > 0 ? first.id : second.id;
    assertThat(activeIds()).containsExactly(larger);
  }

  private static List<String> activeIds() throws Exception {
    List<String> ids = new java.util.ArrayList<>();
    try (Connection connection = DB.get().connect();
        var statement = connection.createStatement();
        var rows = statement.executeQuery("SELECT id::text FROM alerts WHERE status = 'active'")) {
      while (rows.next()) {
        ids.add(rows.getString(1));
      }
    }
    return ids;
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
