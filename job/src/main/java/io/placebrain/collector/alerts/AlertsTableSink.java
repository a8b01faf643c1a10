package io.placebrain.collector.alerts;

import java.sql.Timestamp;
import java.sql.Types;
import org.apache.flink.connector.jdbc.JdbcConnectionOptions;
import org.apache.flink.connector.jdbc.JdbcExecutionOptions;
import org.apache.flink.connector.jdbc.core.datastream.sink.JdbcSink;

/**
 * Writes alert events to {@code alerts} with one idempotent upsert: a created event inserts the
 * row; a resolved event inserts it already resolved or resolves the existing row. Replaying either
 * changes nothing, and a created event replayed after its resolution never turns the alert active
 * again. So at-least-once delivery (Flink's JDBC sink, flushed at every checkpoint) leaves exactly
 * one correct row per alert.
 */
public final class AlertsTableSink {

  static final String UPSERT =
      "INSERT INTO alerts (id, sensor_id, threshold_id, device_id, place_id, key, value,"
          + " threshold_value, threshold_type, severity, status, created_at, resolved_at)"
          + " VALUES (?::uuid, ?::uuid, ?::uuid, ?::uuid, ?::uuid, ?, ?, ?, ?, ?, ?, ?, ?)"
          + " ON CONFLICT (id) DO UPDATE SET status = 'resolved', resolved_at = EXCLUDED.resolved_at"
          + " WHERE EXCLUDED.status = 'resolved' AND alerts.status <> 'resolved'";

  private AlertsTableSink() {}

  public static JdbcSink<AlertEvent> create(String jdbcUrl, String user, String password) {
    JdbcConnectionOptions.JdbcConnectionOptionsBuilder connection =
        new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
            .withUrl(jdbcUrl)
            .withDriverName("org.postgresql.Driver");
    if (user != null) {
      connection.withUsername(user);
    }
    if (password != null) {
      connection.withPassword(password);
    }
    return JdbcSink.<AlertEvent>builder()
        .withQueryStatement(
            UPSERT,
            (statement, alert) -> {
              statement.setString(1, alert.id);
              statement.setString(2, alert.sensorId);
              statement.setString(3, alert.thresholdId);
              statement.setString(4, alert.deviceId);
              statement.setString(5, alert.placeId);
              statement.setString(6, alert.key);
              statement.setDouble(7, alert.value);
              statement.setDouble(8, alert.thresholdValue);
              statement.setString(9, alert.thresholdType);
              statement.setString(10, alert.severity);
              statement.setString(
                  11, AlertEvent.RESOLVED.equals(alert.eventType) ? "resolved" : "active");
              statement.setTimestamp(12, Timestamp.from(AlertEvent.instant(alert.createdAtMicros)));
              if (alert.resolvedAtMicros == null) {
                statement.setNull(13, Types.TIMESTAMP_WITH_TIMEZONE);
              } else {
                statement.setTimestamp(
                    13, Timestamp.from(AlertEvent.instant(alert.resolvedAtMicros)));
              }
            })
        .withExecutionOptions(
            JdbcExecutionOptions.builder()
                .withBatchSize(500)
                .withBatchIntervalMs(200)
                .withMaxRetries(5)
                .build())
        .buildAtLeastOnce(connection.build());
  }
}
