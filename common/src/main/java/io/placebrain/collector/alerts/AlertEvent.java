package io.placebrain.collector.alerts;

import java.time.Instant;
import java.util.Objects;

/**
 * An alert created or resolved: a row of {@code alerts} and the MQTT message on {@code
 * placebrain/{place_id}/alerts}. Ids are deterministic, so a replay produces the same events.
 */
public class AlertEvent {

  public static final String CREATED = "created";
  public static final String RESOLVED = "resolved";

  /** {@link #CREATED} or {@link #RESOLVED}. */
  public String eventType;

  public String id;
  public String sensorId;
  public String thresholdId;
  public String deviceId;
  public String placeId;
  public String key;

  /** The reading that raised the alert. */
  public double value;

  public double thresholdValue;
  public String thresholdType;
  public String severity;
  public long createdAtMicros;

  /** Null while the alert is active. */
  public Long resolvedAtMicros;

  public AlertEvent() {}

  public static Instant instant(long micros) {
    return Instant.EPOCH.plusNanos(micros * 1000);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof AlertEvent)) {
      return false;
    }
    AlertEvent other = (AlertEvent) o;
    return Objects.equals(eventType, other.eventType)
        && Objects.equals(id, other.id)
        && Objects.equals(resolvedAtMicros, other.resolvedAtMicros);
  }

  @Override
  public int hashCode() {
    return Objects.hash(eventType, id, resolvedAtMicros);
  }

  @Override
  public String toString() {
    return eventType
        + " "
        + id
        + " "
        + thresholdType
        + " "
        + thresholdValue
        + " on "
        + deviceId
        + "/"
        + key
        + " value "
        + value;
  }
}
