package io.placebrain.collector.control;

/**
 * A change to thresholds or devices, from the devices topics, or a user's resolve of an alert.
 * Which fields are set depends on {@link #type}: thresholds carry sensor, device, key and threshold
 * id (and, when created, type, value and severity); a deleted device carries its id (and place); a
 * bulk deletion carries ids; a resolved alert carries its id, threshold id and device id.
 */
public class ControlEvent {

  public ControlEventType type;
  public String sensorId;
  public String deviceId;
  public String placeId;
  public String key;
  public String thresholdId;

  /** {@code min} or {@code max}. */
  public String thresholdType;

  public double value;

  /** {@code warning} or {@code critical}. */
  public String severity;

  public String[] deviceIds;

  /** The alert a user resolved ({@link ControlEventType#ALERT_RESOLVED}). */
  public String alertId;

  /** The Kafka record's timestamp, in milliseconds. */
  public long timestamp;

  public ControlEvent() {}

  /** Device ids this event deletes: one, several, or none if it is about a threshold. */
  public String[] deletedDevices() {
    switch (type) {
      case DEVICE_DELETED:
        return new String[] {deviceId};
      case DEVICES_BULK_DELETED:
        return deviceIds;
      default:
        return new String[0];
    }
  }

  @Override
  public String toString() {
    return type
        + (alertId != null ? " alert " + alertId : "")
        + (thresholdId != null ? " threshold " + thresholdId : "")
        + (deviceId != null ? " device " + deviceId : "")
        + (key != null ? " key " + key : "");
  }
}
