package io.placebrain.collector.control;

/** What a control event on the devices topics (or the resolved-alerts topic) says. */
public enum ControlEventType {
  THRESHOLD_CREATED,
  THRESHOLD_DELETED,
  DEVICE_DELETED,
  DEVICES_BULK_DELETED,
  /** A user resolved an alert through the query service. */
  ALERT_RESOLVED
}
