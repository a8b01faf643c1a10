package io.placebrain.collector.query.alerts;

import io.placebrain.collector.alerts.AlertEvent;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/**
 * One row of {@code alerts}. Columns the job always fills may be null in rows written by others.
 */
public record AlertRow(
    UUID id,
    UUID sensorId,
    UUID thresholdId,
    UUID deviceId,
    UUID placeId,
    String key,
    double value,
    double thresholdValue,
    String thresholdType,
    String severity,
    String status,
    Instant createdAt,
    Instant resolvedAt) {

  /** The column list {@link #read} expects, in order. */
  public static final String COLUMNS =
      "id, sensor_id, threshold_id, device_id, place_id, key, value, threshold_value,"
          + " threshold_type, severity, status, created_at, resolved_at";

  public static AlertRow read(ResultSet row) throws SQLException {
    return new AlertRow(
        row.getObject(1, UUID.class),
        row.getObject(2, UUID.class),
        row.getObject(3, UUID.class),
        row.getObject(4, UUID.class),
        row.getObject(5, UUID.class),
        row.getString(6),
        row.getDouble(7),
        row.getDouble(8),
        row.getString(9),
        row.getString(10),
        row.getString(11),
        instant(row.getObject(12, OffsetDateTime.class)),
        instant(row.getObject(13, OffsetDateTime.class)));
  }

  private static Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }

  public boolean isResolved() {
    return "resolved".equals(status);
  }

  /** The MQTT event of this row, as the job publishes it. */
  public AlertEvent toEvent(String eventType) {
    AlertEvent event = new AlertEvent();
    event.eventType = eventType;
    event.id = text(id);
    event.sensorId = text(sensorId);
    event.thresholdId = text(thresholdId);
    event.deviceId = text(deviceId);
    event.placeId = text(placeId);
    event.key = key;
    event.value = value;
    event.thresholdValue = thresholdValue;
    event.thresholdType = thresholdType;
    event.severity = severity;
    event.createdAtMicros = micros(createdAt == null ? Instant.EPOCH : createdAt);
    event.resolvedAtMicros = resolvedAt == null ? null : micros(resolvedAt);
    return event;
  }

  private static String text(UUID id) {
    return id == null ? null : id.toString();
  }

  private static long micros(Instant instant) {
    return ChronoUnit.MICROS.between(Instant.EPOCH, instant);
  }
}
