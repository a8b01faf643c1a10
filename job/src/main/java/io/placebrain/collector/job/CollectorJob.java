package io.placebrain.collector.job;

import io.placebrain.collector.alerts.AlertsTableSink;
import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.deadletter.DeadLetterSerializer;
import io.placebrain.collector.deadletter.MqttRefusalDeadLetterSerializer;
import io.placebrain.collector.mqtt.MqttAlertSink;
import io.placebrain.collector.readings.ReadingRowEncoder;
import io.placebrain.collector.readings.ReadingsStorage;
import io.placebrain.collector.startup.StartupChecks;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.telemetry.KafkaRecord;
import io.placebrain.collector.telemetry.KafkaRecordDeserializer;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The collector job's entry point: reads its configuration, builds the sources and sinks it names,
 * and wires them with {@link ReadingsPipeline}. Nothing else happens here.
 */
public final class CollectorJob {

  private static final Logger LOG = LoggerFactory.getLogger(CollectorJob.class);

  private CollectorJob() {}

  public static void main(String[] args) throws Exception {
    CollectorJobConfig config = CollectorJobConfig.from(args, System.getenv());
    LOG.info("Starting the collector job with {}", config);
    // Also names any missing topic (RequiredTopics), before anything is submitted.
    if (config.startupChecks()) {
      new StartupChecks(config, config.startupCheckTimeout()).verify();
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    build(env, config);
    // The submitter names the job (pipeline.name) and looks for that name before submitting again.
    env.execute(env.getConfiguration().getOptional(PipelineOptions.NAME).orElse("collector"));
  }

  /** Adds the whole job to {@code env}. */
  public static void build(StreamExecutionEnvironment env, CollectorJobConfig config) {
    build(env, config, parts(config), UnaryOperator.identity());
  }

  /** Adds the job with the given parts, and a hook before the readings sink (for tests). */
  public static void build(
      StreamExecutionEnvironment env,
      CollectorJobConfig config,
      PipelineParts parts,
      UnaryOperator<DataStream<Reading>> beforeSink) {
    enableCheckpointing(env, config);
    // Chained operators hand records on without a defensive copy (a Kafka record's bytes, every
    // reading, every alert). Safe because no function of the job changes a record it has received
    // or emitted, nor emits one object twice.
    env.getConfig().enableObjectReuse();
    ReadingsPipeline.attach(
        env,
        parts,
        config.parserSettings(),
        config.controlTopics(),
        config.alertSettings(),
        beforeSink);
  }

  /** Every source and sink, built from the configuration. */
  public static PipelineParts parts(CollectorJobConfig config) {
    return new PipelineParts(
        telemetrySource(config),
        controlSource(config),
        readingsSink(config),
        deadLetterSink(config, config.deadLetterTopic(), "-dlq"),
        deadLetterSink(config, config.controlDeadLetterTopic(), "-control-dlq"),
        AlertsTableSink.create(
            config.databaseUrl(),
            config.databaseUser(),
            config.databasePassword(),
            config.alertsTableFlushInterval()),
        new MqttAlertSink(
            config.mqttSettings(),
            kafkaDeadLetterSink(
                config,
                new MqttRefusalDeadLetterSerializer(config.deadLetterTopic()),
                "-mqtt-dlq")));
  }

  /**
   * The devices topics. Without state the job reads them from the earliest offset, so thresholds
   * are rebuilt; from then on checkpoints are the durable copy, since compaction may have removed a
   * sensor's second threshold from the topic.
   */
  public static KafkaSource<KafkaRecord> controlSource(CollectorJobConfig config) {
    return KafkaSource.<KafkaRecord>builder()
        .setBootstrapServers(config.kafkaBootstrapServers())
        .setTopics(config.controlTopics().all())
        .setGroupId(config.kafkaGroupId() + "-devices")
        .setStartingOffsets(OffsetsInitializer.earliest())
        .setDeserializer(new KafkaRecordDeserializer())
        .setProperty("commit.offsets.on.checkpoint", "true")
        .build();
  }

  /**
   * Exactly-once needs checkpoints: the cluster's configuration decides their interval, and the
   * job's setting applies only where the cluster set none (e.g. a local run).
   */
  static void enableCheckpointing(StreamExecutionEnvironment env, CollectorJobConfig config) {
    if (env.getCheckpointConfig().getCheckpointInterval() <= 0) {
      env.enableCheckpointing(
          config.checkpointInterval().toMillis(), CheckpointingMode.EXACTLY_ONCE);
    }
    // When the database slows down, back-pressure fills the network buffers between the
    // evaluator and the sink; aligned barriers would wait behind all of it and checkpoints (and so
    // commits) would stall. Unaligned barriers overtake it; the overtaken rows go into the
    // checkpoint and into the next transaction, which keeps exactly-once intact.
    env.getCheckpointConfig().enableUnalignedCheckpoints();
  }

  /**
   * Telemetry from Kafka; offsets live in checkpoints. A first start without state resumes from the
   * consumer group's committed offsets, or from the earliest where the group has none.
   */
  public static KafkaSource<KafkaRecord> telemetrySource(CollectorJobConfig config) {
    return telemetrySource(config, new KafkaRecordDeserializer());
  }

  /** The telemetry source with another deserializer (tests slow it down). */
  public static KafkaSource<KafkaRecord> telemetrySource(
      CollectorJobConfig config, KafkaRecordDeserializationSchema<KafkaRecord> deserializer) {
    return KafkaSource.<KafkaRecord>builder()
        .setBootstrapServers(config.kafkaBootstrapServers())
        .setTopics(config.telemetryTopic())
        .setGroupId(config.kafkaGroupId())
        .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
        .setDeserializer(deserializer)
        .setProperty("commit.offsets.on.checkpoint", "true")
        .setProperty("partition.discovery.interval.ms", "60000")
        .build();
  }

  public static PostgresCopySink<Reading> readingsSink(CollectorJobConfig config) {
    return PostgresCopySink.<Reading>builder()
        .setConnection(config.databaseUrl(), config.databaseUser(), config.databasePassword())
        .setTable("readings")
        .setEncoder(new ReadingRowEncoder())
        .setDeliveryGuarantee(config.sinkGuarantee())
        .setTransactionIdPrefix(config.sinkTransactionPrefix())
        // Sessions keep the name operators know from pg_stat_activity.
        .setApplicationName("collector-copy-sink")
        .setMaxBufferedRows(config.sinkMaxBufferedRows())
        .setMaxBufferedBytes(config.sinkMaxBufferedBytes())
        .setFlushInterval(config.sinkFlushInterval())
        .setRejectedRowsTable(CollectorSchema.REJECTED_ROWS)
        .setProgressTable(CollectorSchema.SINK_PROGRESS)
        .setConnectTimeout(config.sinkConnectTimeout())
        .setStartupAction(ReadingsStorage.migration(config.schemaSettings()))
        .setPeriodicAction(
            ReadingsStorage.maintenance(config.schemaSettings()), Duration.ofHours(1))
        .build();
  }

  public static Sink<DeadLetter> deadLetterSink(
      CollectorJobConfig config, String topic, String transactionSuffix) {
    return kafkaDeadLetterSink(
        config,
        new DeadLetterSerializer(topic, config.deadLetterMaxRecordBytes()),
        transactionSuffix);
  }

  /**
   * A Kafka sink for dead letters of any kind, with the dead-letter guarantee; each needs its own
   * {@code transactionSuffix}.
   */
  public static <T> Sink<T> kafkaDeadLetterSink(
      CollectorJobConfig config,
      KafkaRecordSerializationSchema<T> serializer,
      String transactionSuffix) {
    var builder =
        KafkaSink.<T>builder()
            .setBootstrapServers(config.kafkaBootstrapServers())
            .setRecordSerializer(serializer)
            .setDeliveryGuarantee(config.deadLetterGuarantee())
            // The serializer keeps every dead letter within its budget; the producer must allow it.
            .setProperty(
                "max.request.size",
                String.valueOf(Math.max(1 << 20, config.deadLetterMaxRecordBytes() + (64 << 10))));
    if (config.deadLetterGuarantee() == DeliveryGuarantee.EXACTLY_ONCE) {
      builder
          .setTransactionalIdPrefix(config.sinkTransactionPrefix() + transactionSuffix)
          // Brokers cap transactions at 15 minutes by default; Flink's default asks for an hour.
          .setProperty("transaction.timeout.ms", "600000");
    }
    return builder.build();
  }
}
