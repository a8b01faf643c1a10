package io.placebrain.collector.job;

import io.placebrain.collector.config.Settings;
import io.placebrain.collector.control.ControlTopics;
import io.placebrain.collector.deadletter.DeadLetterSerializer;
import io.placebrain.collector.mqtt.MqttSinkSettings;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.telemetry.ParserSettings;
import io.placebrain.collector.thresholds.AlertSettings;
import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * The job's configuration, read from {@code --key value} flags and {@code COLLECTOR_*} environment
 * variables (flags win), with defaults that run against local services. Every setting is listed in
 * {@link #DEFAULTS} and documented in the README.
 */
public final class CollectorJobConfig implements Serializable {

  /** Every setting with its default, in the order the README lists them. */
  public static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put("kafka.bootstrap-servers", "localhost:9092");
    DEFAULTS.put("kafka.group-id", "collector-service");
    DEFAULTS.put("kafka.telemetry-topic", "telemetry.readings");
    DEFAULTS.put("kafka.dead-letter-topic", "telemetry.readings.dlq");
    DEFAULTS.put("kafka.dead-letter-guarantee", "exactly-once");
    DEFAULTS.put("kafka.dead-letter-max-record-bytes", "1000000");
    DEFAULTS.put("kafka.threshold-created-topic", "devices.threshold.created");
    DEFAULTS.put("kafka.threshold-deleted-topic", "devices.threshold.deleted");
    DEFAULTS.put("kafka.device-deleted-topic", "devices.device.deleted");
    DEFAULTS.put("kafka.devices-bulk-deleted-topic", "devices.device.bulk-deleted");
    DEFAULTS.put("kafka.alert-resolved-topic", ControlTopics.ALERT_RESOLVED_DEFAULT);
    DEFAULTS.put("kafka.control-dead-letter-topic", "devices.events.dlq");
    DEFAULTS.put("database.url", "jdbc:postgresql://localhost:5432/telemetry_db");
    DEFAULTS.put("database.user", "collector");
    DEFAULTS.put("database.password", "collector");
    DEFAULTS.put("sink.guarantee", "exactly-once");
    DEFAULTS.put("sink.transaction-prefix", "collector-readings");
    DEFAULTS.put("sink.max-buffered-rows", "20000");
    DEFAULTS.put("sink.max-buffered-bytes", "4194304");
    DEFAULTS.put("sink.flush-interval", "1s");
    DEFAULTS.put("sink.connect-timeout", "60s");
    DEFAULTS.put("parser.earliest", "2000-01-01T00:00:00Z");
    DEFAULTS.put("parser.max-ahead", "1d");
    DEFAULTS.put("parser.max-record-bytes", "1048576");
    DEFAULTS.put("parser.max-values-per-record", "10000");
    DEFAULTS.put("mqtt.server", "tcp://localhost:1883");
    DEFAULTS.put("mqtt.client-id", "collector");
    DEFAULTS.put("mqtt.username", "");
    DEFAULTS.put("mqtt.password", "");
    DEFAULTS.put("mqtt.version", "5");
    DEFAULTS.put("mqtt.max-pending", "10000");
    DEFAULTS.put("mqtt.ack-timeout", "0s");
    DEFAULTS.put("mqtt.ca-file", "");
    DEFAULTS.put("alerts.deadband", "0");
    DEFAULTS.put("alerts.min-duration", "0s");
    DEFAULTS.put("alerts.tombstone-retention", "7d");
    DEFAULTS.put("alerts.idle-sensor-retention", "30d");
    DEFAULTS.put("alerts.table-flush-interval", "200ms");
    DEFAULTS.put("storage.retention", "90d");
    DEFAULTS.put("storage.compress-after", "7d");
    DEFAULTS.put("checkpoint.interval", "10s");
    DEFAULTS.put("startup.checks", "true");
    DEFAULTS.put("startup.check-timeout", "15s");
  }

  private final Settings settings;

  private CollectorJobConfig(Settings settings) {
    this.settings = settings;
    validate();
  }

  /** Defaults, overridden by environment variables, overridden by flags. */
  public static CollectorJobConfig from(String[] args, Map<String, String> environment) {
    return new CollectorJobConfig(
        Settings.read(DEFAULTS, Set.of("database.password", "mqtt.password"), args, environment));
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
        get("kafka.threshold-created-topic"),
        get("kafka.threshold-deleted-topic"),
        get("kafka.device-deleted-topic"),
        get("kafka.devices-bulk-deleted-topic"),
        get("kafka.alert-resolved-topic"));
  }

  public String controlDeadLetterTopic() {
    return get("kafka.control-dead-letter-topic");
  }

  public MqttSinkSettings mqttSettings() {
    return new MqttSinkSettings(
        get("mqtt.server"),
        get("mqtt.client-id"),
        settings.optional("mqtt.username"),
        settings.optional("mqtt.password"),
        get("mqtt.version"),
        settings.integer("mqtt.max-pending"),
        duration("mqtt.ack-timeout"),
        settings.optional("mqtt.ca-file"));
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
    return get("kafka.bootstrap-servers");
  }

  public String kafkaGroupId() {
    return get("kafka.group-id");
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
    return get("database.url");
  }

  /** Null when empty: the driver then takes the user from the URL. */
  public String databaseUser() {
    return settings.optional("database.user");
  }

  public String databasePassword() {
    return settings.optional("database.password");
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
        duration("storage.retention"),
        settings.integer("parser.max-values-per-record"));
  }

  /** Key, value and headers of one dead letter stay within this; larger values are cut. */
  public int deadLetterMaxRecordBytes() {
    return settings.integer("kafka.dead-letter-max-record-bytes");
  }

  public SchemaSettings schemaSettings() {
    return new SchemaSettings(
        duration("storage.retention"),
        duration("storage.compress-after"),
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
