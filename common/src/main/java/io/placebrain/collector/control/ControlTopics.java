package io.placebrain.collector.control;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/** The four devices topics, by what they carry. */
public record ControlTopics(
    String thresholdCreated,
    String thresholdDeleted,
    String deviceDeleted,
    String devicesBulkDeleted)
    implements Serializable {

  public static final ControlTopics DEFAULTS =
      new ControlTopics(
          "devices.threshold.created",
          "devices.threshold.deleted",
          "devices.device.deleted",
          "devices.device.bulk-deleted");

  public List<String> all() {
    return List.of(thresholdCreated, thresholdDeleted, deviceDeleted, devicesBulkDeleted);
  }

  Map<String, ControlEventType> typeByTopic() {
    return Map.of(
        thresholdCreated, ControlEventType.THRESHOLD_CREATED,
        thresholdDeleted, ControlEventType.THRESHOLD_DELETED,
        deviceDeleted, ControlEventType.DEVICE_DELETED,
        devicesBulkDeleted, ControlEventType.DEVICES_BULK_DELETED);
  }
}
