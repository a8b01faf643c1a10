package io.placebrain.collector.alerts;

import io.placebrain.collector.storage.CollectorSchema;
import java.sql.PreparedStatement;
import java.sql.SQLException;
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
 *
 * <p>The upsert is the schema's procedure {@link CollectorSchema#ALERTS_UPSERT}: a row the database
 * refuses as data goes to {@code rejected_rows} with the database's message instead of failing the
 * batch, so no alert row can restart-loop the job. Text is sent without NUL or lone surrogates
 * (which the server or the driver would refuse or mangle before the procedure runs); upstream
 * validation keeps them out already, so this only guards against a bug.
 */
public final class AlertsTableSink {

  static final String UPSERT =
      "CALL " + CollectorSchema.ALERTS_UPSERT + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

  private AlertsTableSink() {}

  /** Binds one event to {@link #UPSERT}. */
  static void bind(PreparedStatement statement, AlertEvent alert) throws SQLException {
    statement.setString(1, storable(alert.id));
    statement.setString(2, storable(alert.sensorId));
    statement.setString(3, storable(alert.thresholdId));
    statement.setString(4, storable(alert.deviceId));
    statement.setString(5, storable(alert.placeId));
    statement.setString(6, storable(alert.key));
    statement.setDouble(7, alert.value);
    statement.setDouble(8, alert.thresholdValue);
    statement.setString(9, storable(alert.thresholdType));
    statement.setString(10, storable(alert.severity));
    statement.setString(11, AlertEvent.RESOLVED.equals(alert.eventType) ? "resolved" : "active");
    statement.setTimestamp(12, Timestamp.from(AlertEvent.instant(alert.createdAtMicros)));
    if (alert.resolvedAtMicros == null) {
      statement.setNull(13, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      statement.setTimestamp(13, Timestamp.from(AlertEvent.instant(alert.resolvedAtMicros)));
    }
  }

  /** {@code text} with NUL and lone surrogates as {@code \\uXXXX} escapes; unchanged otherwise. */
  static String storable(String text) {
    if (text == null) {
      return null;
    }
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        out.append(c).append(text.charAt(++i));
      } else if (c == 0 || Character.isSurrogate(c)) {
        out.append(String.format("\\u%04X", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /**
   * @param flushInterval how long an alert may wait in the batch before it is written; every
   *     checkpoint writes the batch too
   */
  public static JdbcSink<AlertEvent> create(
      String jdbcUrl, String user, String password, java.time.Duration flushInterval) {
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
        .withQueryStatement(UPSERT, AlertsTableSink::bind)
        .withExecutionOptions(
            JdbcExecutionOptions.builder()
                .withBatchSize(500)
                .withBatchIntervalMs(Math.max(1, flushInterval.toMillis()))
                .withMaxRetries(5)
                .build())
        .buildAtLeastOnce(connection.build());
  }
}
