package io.placebrain.collector.alerts;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The MQTT message of an alert event: {@code {"id", "event_type", "sensor_id", "threshold_id",
 * "device_id", "place_id", "key", "value", "threshold_value", "threshold_type", "severity",
 * "created_at", "resolved_at"}}, times ISO-8601, {@code resolved_at} null while active.
 */
public final class AlertJson {

  private static final JsonFactory JSON = new JsonFactory();

  private AlertJson() {}

  public static byte[] toJson(AlertEvent alert) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(384);
    try (JsonGenerator json = JSON.createGenerator(bytes)) {
      json.writeStartObject();
      json.writeStringField("id", alert.id);
      json.writeStringField("event_type", alert.eventType);
      json.writeStringField("sensor_id", alert.sensorId);
      json.writeStringField("threshold_id", alert.thresholdId);
      json.writeStringField("device_id", alert.deviceId);
      json.writeStringField("place_id", alert.placeId);
      json.writeStringField("key", alert.key);
      json.writeNumberField("value", alert.value);
      json.writeNumberField("threshold_value", alert.thresholdValue);
      json.writeStringField("threshold_type", alert.thresholdType);
      json.writeStringField("severity", alert.severity);
      json.writeStringField("created_at", AlertEvent.instant(alert.createdAtMicros).toString());
      if (alert.resolvedAtMicros == null) {
        json.writeNullField("resolved_at");
      } else {
        json.writeStringField("resolved_at", AlertEvent.instant(alert.resolvedAtMicros).toString());
      }
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /** {@code placebrain/{place_id}/alerts}. */
  public static String topic(AlertEvent alert) {
    return "placebrain/" + alert.placeId + "/alerts";
  }
}
