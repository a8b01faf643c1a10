package io.placebrain.collector.control;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * The control topics, by what they carry: the four devices topics, and the compacted topic on which
 * the query service announces the alerts users resolved.
 */
public record ControlTopics(
    String thresholdCreated,
    String thresholdDeleted,
    String deviceDeleted,
    String devicesBulkDeleted,
    String alertResolved)
    implements Serializable {

  public static final String ALERT_RESOLVED_DEFAULT = "collector.alerts.resolved";

  public static final ControlTopics DEFAULTS =
      new ControlTopics(
          "devices.threshold.created",
          "devices.threshold.deleted",
          "devices.device.deleted",
          "devices.device.bulk-deleted",
          ALERT_RESOLVED_DEFAULT);

  public List<String> all() {
    return List.of(
        thresholdCreated, thresholdDeleted, deviceDeleted, devicesBulkDeleted, alertResolved);
  }

  Map<String, ControlEventType> typeByTopic() {
    return Map.of(
        thresholdCreated, ControlEventType.THRESHOLD_CREATED,
        thresholdDeleted, ControlEventType.THRESHOLD_DELETED,
        deviceDeleted, ControlEventType.DEVICE_DELETED,
        devicesBulkDeleted, ControlEventType.DEVICES_BULK_DELETED,
        alertResolved, ControlEventType.ALERT_RESOLVED);
  }
}
