package io.placebrain.collector.query.grpc;

import com.google.protobuf.Timestamp;
import io.placebrain.collector.proto.Alert;
import io.placebrain.collector.proto.AlertSeverity;
import io.placebrain.collector.proto.AlertStatus;
import io.placebrain.collector.proto.AlertThresholdType;
import io.placebrain.collector.query.alerts.AlertRow;
import java.time.Instant;
import java.util.UUID;

/** Rows to protobuf messages, and the text values the tables hold for the contract's enums. */
final class Messages {

  private Messages() {}

  static Alert alert(AlertRow row) {
    Alert.Builder alert =
        Alert.newBuilder()
            .setId(text(row.id()))
            .setSensorId(text(row.sensorId()))
            .setThresholdId(text(row.thresholdId()))
            .setDeviceId(text(row.deviceId()))
            .setPlaceId(text(row.placeId()))
            .setKey(row.key() == null ? "" : row.key())
            .setValue(row.value())
            .setThresholdValue(row.thresholdValue())
            .setThresholdType(thresholdType(row.thresholdType()))
            .setSeverity(severity(row.severity()))
            .setStatus(status(row.status()));
    if (row.createdAt() != null) {
      alert.setCreatedAt(timestamp(row.createdAt()));
    }
    if (row.resolvedAt() != null) {
      alert.setResolvedAt(timestamp(row.resolvedAt()));
    }
    return alert.build();
  }

  static Timestamp timestamp(Instant instant) {
    return Timestamp.newBuilder()
        .setSeconds(instant.getEpochSecond())
        .setNanos(instant.getNano())
        .build();
  }

  private static String text(UUID id) {
    return id == null ? "" : id.toString();
  }

  static AlertThresholdType thresholdType(String text) {
    if ("min".equals(text)) {
      return AlertThresholdType.ALERT_THRESHOLD_TYPE_MIN;
    }
    if ("max".equals(text)) {
      return AlertThresholdType.ALERT_THRESHOLD_TYPE_MAX;
    }
    return AlertThresholdType.ALERT_THRESHOLD_TYPE_UNSPECIFIED;
  }

  static AlertSeverity severity(String text) {
    if ("warning".equals(text)) {
      return AlertSeverity.ALERT_SEVERITY_WARNING;
    }
    if ("critical".equals(text)) {
      return AlertSeverity.ALERT_SEVERITY_CRITICAL;
    }
    return AlertSeverity.ALERT_SEVERITY_UNSPECIFIED;
  }

  static AlertStatus status(String text) {
    if ("active".equals(text)) {
      return AlertStatus.ALERT_STATUS_ACTIVE;
    }
    if ("resolved".equals(text)) {
      return AlertStatus.ALERT_STATUS_RESOLVED;
    }
    return AlertStatus.ALERT_STATUS_UNSPECIFIED;
  }

  /** The table's text for a severity filter; null for "any". */
  static String severityText(AlertSeverity severity) {
    switch (severity) {
      case ALERT_SEVERITY_WARNING:
        return "warning";
      case ALERT_SEVERITY_CRITICAL:
        return "critical";
      default:
        return null;
    }
  }

  /** The table's text for a status filter; null for "any". */
  static String statusText(AlertStatus status) {
    switch (status) {
      case ALERT_STATUS_ACTIVE:
        return "active";
      case ALERT_STATUS_RESOLVED:
        return "resolved";
      default:
        return null;
    }
  }
}
