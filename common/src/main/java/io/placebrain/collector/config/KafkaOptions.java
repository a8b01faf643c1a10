package io.placebrain.collector.config;

import static io.placebrain.collector.config.Option.Kind.TEXT;

import io.placebrain.collector.control.ControlTopics;

/**
 * The Kafka settings the job, the query service and the local stack share: the brokers and the
 * control topics (the service produces one the job consumes, so their names must agree).
 */
public final class KafkaOptions {

  public static final Option BOOTSTRAP_SERVERS =
      Option.of("kafka.bootstrap-servers", "localhost:9092", TEXT, "Kafka brokers");

  /**
   * Each application consumes in a group of its own (the job's default here); a shared group would
   * split the devices topics between them.
   */
  public static final Option GROUP_ID =
      Option.of("kafka.group-id", "collector-service", TEXT, "consumer group");

  public static final Option THRESHOLD_CREATED_TOPIC =
      topic(
          "kafka.threshold-created-topic",
          ControlTopics.DEFAULTS.thresholdCreated(),
          "threshold created or replaced");

  public static final Option THRESHOLD_DELETED_TOPIC =
      topic(
          "kafka.threshold-deleted-topic",
          ControlTopics.DEFAULTS.thresholdDeleted(),
          "threshold deleted");

  public static final Option DEVICE_DELETED_TOPIC =
      topic("kafka.device-deleted-topic", ControlTopics.DEFAULTS.deviceDeleted(), "device deleted");

  public static final Option DEVICES_BULK_DELETED_TOPIC =
      topic(
          "kafka.devices-bulk-deleted-topic",
          ControlTopics.DEFAULTS.devicesBulkDeleted(),
          "devices deleted in bulk");

  public static final Option ALERT_RESOLVED_TOPIC =
      topic(
          "kafka.alert-resolved-topic",
          ControlTopics.DEFAULTS.alertResolved(),
          "alerts users resolved, written by the query service (compacted, one partition)");

  private KafkaOptions() {}

  private static Option topic(String key, String defaultValue, String description) {
    return Option.of(key, defaultValue, TEXT, description);
  }
}
