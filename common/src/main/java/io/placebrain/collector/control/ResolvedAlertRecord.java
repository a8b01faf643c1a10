package io.placebrain.collector.control;

import java.nio.charset.StandardCharsets;

/**
 * The record the query service writes to the resolved-alerts topic when a user resolves an alert,
 * read back by the job as {@link ControlEventType#ALERT_RESOLVED}. The key is the threshold and
 * device, so compaction keeps the newest resolve per threshold of a sensor: an older alert of the
 * same threshold can no longer become active once a newer one exists, so its resolve may go.
 */
public final class ResolvedAlertRecord {

  private ResolvedAlertRecord() {}

  public static byte[] key(String thresholdId, String deviceId) {
    return (thresholdId + "/" + deviceId).getBytes(StandardCharsets.UTF_8);
  }

  /** The JSON value; ids are canonical UUID text, so nothing needs escaping. */
  public static byte[] value(
      String alertId, String thresholdId, String deviceId, String resolvedAtIso) {
    return ("{\"alert_id\":\""
            + alertId
            + "\",\"threshold_id\":\""
            + thresholdId
            + "\",\"device_id\":\""
            + deviceId
            + "\",\"resolved_at\":\""
            + resolvedAtIso
            + "\"}")
        .getBytes(StandardCharsets.UTF_8);
  }
}
