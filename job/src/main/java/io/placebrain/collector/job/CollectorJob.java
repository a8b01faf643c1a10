package io.placebrain.collector.job;

import io.placebrain.collector.copysink.CopySink;
import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.deadletter.DeadLetterSerializer;
import io.placebrain.collector.readings.ReadingRowEncoder;
import io.placebrain.collector.readings.ReadingsStorage;
import io.placebrain.collector.telemetry.KafkaRecord;
import io.placebrain.collector.telemetry.KafkaRecordDeserializer;
import io.placebrain.collector.telemetry.Reading;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
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
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    build(env, config);
    env.execute("collector");
  }

  /** Adds the whole job to {@code env}. */
  public static void build(StreamExecutionEnvironment env, CollectorJobConfig config) {
    enableCheckpointing(env, config);
    ReadingsPipeline.attach(
        env,
        telemetrySource(config),
        config.parserSettings(),
        readingsSink(config),
        deadLetterSink(config),
        UnaryOperator.identity());
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
  }

  /**
   * Telemetry from Kafka; offsets live in checkpoints. A first start without state resumes from the
   * consumer group's committed offsets, or from the earliest where the group has none.
   */
  public static KafkaSource<KafkaRecord> telemetrySource(CollectorJobConfig config) {
    return KafkaSource.<KafkaRecord>builder()
        .setBootstrapServers(config.kafkaBootstrapServers())
        .setTopics(config.telemetryTopic())
        .setGroupId(config.kafkaGroupId())
        .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
        .setDeserializer(new KafkaRecordDeserializer())
        .setProperty("commit.offsets.on.checkpoint", "true")
        .setProperty("partition.discovery.interval.ms", "60000")
        .build();
  }

  public static CopySink<Reading> readingsSink(CollectorJobConfig config) {
    return CopySink.<Reading>builder()
        .setConnection(
            config.databaseUrl(),
            emptyToNull(config.databaseUser()),
            emptyToNull(config.databasePassword()))
        .setTable("readings")
        .setEncoder(new ReadingRowEncoder())
        .setDeliveryGuarantee(config.sinkGuarantee())
        .setTransactionIdPrefix(config.sinkTransactionPrefix())
        .setMaxBufferedRows(config.sinkMaxBufferedRows())
        .setMaxBufferedBytes(config.sinkMaxBufferedBytes())
        .setFlushInterval(config.sinkFlushInterval())
        .setStartupAction(ReadingsStorage.migration(config.schemaSettings()))
        .setPeriodicAction(
            ReadingsStorage.maintenance(config.schemaSettings()), Duration.ofHours(1))
        .build();
  }

  private static String emptyToNull(String value) {
    return value == null || value.isEmpty() ? null : value;
  }

  public static Sink<DeadLetter> deadLetterSink(CollectorJobConfig config) {
    var builder =
        KafkaSink.<DeadLetter>builder()
            .setBootstrapServers(config.kafkaBootstrapServers())
            .setRecordSerializer(new DeadLetterSerializer(config.deadLetterTopic()))
            .setDeliveryGuarantee(config.deadLetterGuarantee());
    if (config.deadLetterGuarantee() == DeliveryGuarantee.EXACTLY_ONCE) {
      builder
          .setTransactionalIdPrefix(config.sinkTransactionPrefix() + "-dlq")
          // Brokers cap transactions at 15 minutes by default; Flink's default asks for an hour.
          .setProperty("transaction.timeout.ms", "600000");
    }
    return builder.build();
  }
}
