package io.placebrain.collector.control;

/** What a control event on the devices topics says. */
public enum ControlEventType {
  THRESHOLD_CREATED,
  THRESHOLD_DELETED,
  DEVICE_DELETED,
  DEVICES_BULK_DELETED
}
