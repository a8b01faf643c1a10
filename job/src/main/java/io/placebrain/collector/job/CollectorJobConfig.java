package io.placebrain.collector.job;

import io.placebrain.collector.config.DatabaseOptions;
import io.placebrain.collector.config.KafkaOptions;
import io.placebrain.collector.config.MqttOptions;
import io.placebrain.collector.config.Options;
import io.placebrain.collector.config.Settings;
import io.placebrain.collector.config.StorageOptions;
import io.placebrain.collector.control.ControlTopics;
import io.placebrain.collector.deadletter.DeadLetterSerializer;
import io.placebrain.collector.mqtt.MqttSinkSettings;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.telemetry.ParserSettings;
import io.placebrain.collector.thresholds.AlertSettings;
import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * The job's configuration, read from {@code --key value} flags and {@code COLLECTOR_*} environment
 * variables (flags win), with defaults that run against local services. Every setting is listed in
 * {@link #DEFAULTS} and documented in the README.
 */
public final class CollectorJobConfig implements Serializable {

  /**
   * Every setting: the database, MQTT, Kafka and storage ones are the definitions shared with the
   * query service and the local stack (the README's shared table), the others the job's own (its
   * table, in this order).
   */
  public static final Options OPTIONS =
      Options.builder()
          .add(KafkaOptions.BOOTSTRAP_SERVERS, KafkaOptions.GROUP_ID)
          .own("kafka.telemetry-topic", "telemetry.readings")
          .own("kafka.dead-letter-topic", "telemetry.readings.dlq")
          .own("kafka.dead-letter-guarantee", "exactly-once")
          .own("kafka.dead-letter-max-record-bytes", "1000000")
          .add(
              KafkaOptions.THRESHOLD_CREATED_TOPIC,
              KafkaOptions.THRESHOLD_DELETED_TOPIC,
              KafkaOptions.DEVICE_DELETED_TOPIC,
              KafkaOptions.DEVICES_BULK_DELETED_TOPIC,
              KafkaOptions.ALERT_RESOLVED_TOPIC)
          .own("kafka.control-dead-letter-topic", "devices.events.dlq")
          .add(DatabaseOptions.URL, DatabaseOptions.USER, DatabaseOptions.PASSWORD)
          .own("sink.guarantee", "exactly-once")
          .own("sink.transaction-prefix", "collector-readings")
          .own("sink.max-buffered-rows", "20000")
          .own("sink.max-buffered-bytes", "4194304")
          .own("sink.flush-interval", "1s")
          .own("sink.connect-timeout", "60s")
          .own("parser.earliest", "2000-01-01T00:00:00Z")
          .own("parser.max-ahead", "1d")
          .own("parser.max-record-bytes", "1048576")
          .own("parser.max-values-per-record", "10000")
          .add(
              MqttOptions.SERVER,
              MqttOptions.CLIENT_ID,
              MqttOptions.USERNAME,
              MqttOptions.PASSWORD,
              MqttOptions.VERSION)
          .own("mqtt.max-pending", "10000")
          .add(MqttOptions.ACK_TIMEOUT, MqttOptions.CA_FILE)
          .own("alerts.deadband", "0")
          .own("alerts.min-duration", "0s")
          .own("alerts.tombstone-retention", "7d")
          .own("alerts.idle-sensor-retention", "30d")
          .own("alerts.table-flush-interval", "200ms")
          .add(StorageOptions.RETENTION, StorageOptions.COMPRESS_AFTER)
          .own("checkpoint.interval", "10s")
          .own("startup.checks", "true")
          .own("startup.check-timeout", "15s")
          .build();

  /** Every setting with its default. */
  public static final Map<String, String> DEFAULTS = OPTIONS.defaults();

  private final Settings settings;

  private CollectorJobConfig(Settings settings) {
    this.settings = settings;
    validate();
  }

  /** Defaults, overridden by environment variables, overridden by flags. */
  public static CollectorJobConfig from(String[] args, Map<String, String> environment) {
    return new CollectorJobConfig(OPTIONS.read(args, environment));
  }

  /** {@code kafka.bootstrap-servers} is read from {@code COLLECTOR_KAFKA_BOOTSTRAP_SERVERS}. */
  public static String environmentName(String key) {
    return Settings.environmentName(key);
  }

  /** A copy with some settings replaced; for tests and the local runner. */
  public CollectorJobConfig with(Map<String, String> overrides) {
    return new CollectorJobConfig(settings.with(overrides));
  }

  private void validate() {
    // Parse everything once so a typo fails at start-up, not when a task first needs it.
    parserSettings();
    schemaSettings();
    sinkGuarantee();
    deadLetterGuarantee();
    new DeadLetterSerializer(deadLetterTopic(), deadLetterMaxRecordBytes());
    sinkMaxBufferedRows();
    sinkMaxBufferedBytes();
    sinkFlushInterval();
    sinkConnectTimeout();
    checkpointInterval();
    mqttSettings().trustManagerFactory(); // a wrong CA file fails the submission, not each task
    alertSettings();
    alertsTableFlushInterval();
    startupChecks();
    startupCheckTimeout();
  }

  public ControlTopics controlTopics() {
    return new ControlTopics(
        get(KafkaOptions.THRESHOLD_CREATED_TOPIC.key()),
        get(KafkaOptions.THRESHOLD_DELETED_TOPIC.key()),
        get(KafkaOptions.DEVICE_DELETED_TOPIC.key()),
        get(KafkaOptions.DEVICES_BULK_DELETED_TOPIC.key()),
        get(KafkaOptions.ALERT_RESOLVED_TOPIC.key()));
  }

  public String controlDeadLetterTopic() {
    return get("kafka.control-dead-letter-topic");
  }

  public MqttSinkSettings mqttSettings() {
    return MqttOptions.connection(settings, settings.integer("mqtt.max-pending"));
  }

  /** Whether {@code main} checks database, topics and broker before it submits the job. */
  public boolean startupChecks() {
    return settings.bool("startup.checks");
  }

  public Duration startupCheckTimeout() {
    return duration("startup.check-timeout");
  }

  /** How long an alert may wait in the alerts table sink's batch (checkpoints flush it too). */
  public Duration alertsTableFlushInterval() {
    return duration("alerts.table-flush-interval");
  }

  public AlertSettings alertSettings() {
    return new AlertSettings(
        settings.decimal("alerts.deadband"),
        duration("alerts.min-duration"),
        duration("alerts.tombstone-retention"),
        duration("alerts.idle-sensor-retention"));
  }

  public String get(String key) {
    return settings.get(key);
  }

  public String kafkaBootstrapServers() {
    return get(KafkaOptions.BOOTSTRAP_SERVERS.key());
  }

  public String kafkaGroupId() {
    return get(KafkaOptions.GROUP_ID.key());
  }

  public String telemetryTopic() {
    return get("kafka.telemetry-topic");
  }

  public String deadLetterTopic() {
    return get("kafka.dead-letter-topic");
  }

  public DeliveryGuarantee deadLetterGuarantee() {
    return guarantee("kafka.dead-letter-guarantee");
  }

  public String databaseUrl() {
    return DatabaseOptions.url(settings);
  }

  /** Null when empty: the driver then takes the user from the URL. */
  public String databaseUser() {
    return DatabaseOptions.user(settings);
  }

  public String databasePassword() {
    return DatabaseOptions.password(settings);
  }

  public DeliveryGuarantee sinkGuarantee() {
    return guarantee("sink.guarantee");
  }

  public String sinkTransactionPrefix() {
    return get("sink.transaction-prefix");
  }

  public int sinkMaxBufferedRows() {
    return settings.integer("sink.max-buffered-rows");
  }

  public long sinkMaxBufferedBytes() {
    return settings.longValue("sink.max-buffered-bytes");
  }

  public Duration sinkFlushInterval() {
    return duration("sink.flush-interval");
  }

  public Duration sinkConnectTimeout() {
    return duration("sink.connect-timeout");
  }

  public Duration checkpointInterval() {
    return duration("checkpoint.interval");
  }

  public ParserSettings parserSettings() {
    return new ParserSettings(
        Instant.parse(get("parser.earliest")),
        duration("parser.max-ahead"),
        settings.integer("parser.max-record-bytes"),
        StorageOptions.retention(settings),
        settings.integer("parser.max-values-per-record"));
  }

  /** Key, value and headers of one dead letter stay within this; larger values are cut. */
  public int deadLetterMaxRecordBytes() {
    return settings.integer("kafka.dead-letter-max-record-bytes");
  }

  public SchemaSettings schemaSettings() {
    return new SchemaSettings(
        StorageOptions.retention(settings),
        StorageOptions.compressAfter(settings),
        SchemaSettings.DEFAULTS.partitionsAhead());
  }

  private Duration duration(String key) {
    return settings.duration(key);
  }

  private DeliveryGuarantee guarantee(String key) {
    switch (get(key).toLowerCase(Locale.ROOT)) {
      case "exactly-once":
        return DeliveryGuarantee.EXACTLY_ONCE;
      case "at-least-once":
        return DeliveryGuarantee.AT_LEAST_ONCE;
      default:
        throw settings.invalid(key, "exactly-once or at-least-once");
    }
  }

  @Override
  public String toString() {
    return settings.toString();
  }
}
