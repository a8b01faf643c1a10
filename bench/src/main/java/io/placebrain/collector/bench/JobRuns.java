package io.placebrain.collector.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.placebrain.collector.job.CollectorJob;
import io.placebrain.collector.job.CollectorJobConfig;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The whole job (the same wiring as {@code flink run}) on telemetry pre-loaded in Kafka: committed
 * rows per second until every reading is in {@code readings}, the heap kept alive meanwhile, and
 * the checkpoints taken at that speed.
 */
final class JobRuns {

  /** One run's measurements. */
  record Run(
      double rowsPerSecond, double peakHeapMb, double checkpointP99Ms, double checkpointBytes) {}

  private final BenchCluster cluster;
  private final BenchRows rows;
  private final TestKafka kafka = TestServices.kafka();

  JobRuns(BenchCluster cluster, BenchRows rows) {
    this.cluster = cluster;
    this.rows = rows;
  }

  /** A topic holding {@code records} telemetry records (3 readings each). */
  String preload(long records) throws Exception {
    String topic = TestKafka.uniqueTopic("bench-telemetry");
    kafka.createTopic(topic, 6);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.LINGER_MS_CONFIG, "20",
                ProducerConfig.BATCH_SIZE_CONFIG, "262144",
                // One broker in this JVM, busy: plain acks, no idempotent sequences to time out.
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false",
                ProducerConfig.ACKS_CONFIG, "1",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "300000",
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "120000"),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      AtomicReference<Exception> failure = new AtomicReference<>();
      for (long r = 0; r < records && failure.get() == null; r++) {
        producer.send(
            new ProducerRecord<>(
                topic,
                rows.recordKey(r).getBytes(StandardCharsets.UTF_8),
                rows.record(r).getBytes(StandardCharsets.UTF_8)),
            (metadata, error) -> {
              if (error != null) {
                failure.compareAndSet(null, error);
              }
            });
      }
      producer.flush();
      if (failure.get() != null) {
        throw new IllegalStateException("Pre-loading telemetry failed", failure.get());
      }
    }
    return topic;
  }

  /** Job settings against the test services, reading {@code topic} with a new consumer group. */
  CollectorJobConfig config(TestDatabase db, String topic) {
    Map<String, String> settings = new HashMap<>();
    settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
    settings.put("kafka.group-id", "bench-" + UUID.randomUUID());
    settings.put("kafka.telemetry-topic", topic);
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    for (String key :
        new String[] {
          "kafka.dead-letter-topic",
          "kafka.threshold-created-topic",
          "kafka.threshold-deleted-topic",
          "kafka.device-deleted-topic",
          "kafka.devices-bulk-deleted-topic",
          "kafka.alert-resolved-topic",
          "kafka.control-dead-letter-topic"
        }) {
      String name = "bench-" + key.substring("kafka.".length()) + "-" + suffix;
      kafka.createTopic(name, 1);
      settings.put(key, name);
    }
    settings.put("database.url", db.jdbcUrl());
    settings.put("database.user", db.user());
    settings.put("database.password", db.password() == null ? "" : db.password());
    settings.put("mqtt.server", TestServices.mqtt().serverUri());
    settings.put("mqtt.version", "3.1.1");
    settings.put("mqtt.client-id", "bench-" + suffix);
    settings.put("sink.transaction-prefix", "bench-" + suffix);
    settings.put("checkpoint.interval", "2s");
    return CollectorJobConfig.from(new String[0], Map.of()).with(settings);
  }

  /** Runs the job at parallelism 2 until all {@code records × 3} readings are committed. */
  Run run(String topic, long records) throws Exception {
    long expected = records * 3;
    double[] result = new double[1];
    JsonNode[] checkpoints = new JsonNode[1];
    double heap;
    try (HeapWatcher watcher = new HeapWatcher()) {
      Throughput.withDatabase(
          db -> {
            StreamExecutionEnvironment env = cluster.environment(2);
            CollectorJob.build(env, config(db, topic));
            long started = System.nanoTime();
            JobClient job = env.executeAsync("bench job");
            try {
              long stored = 0;
              int polls = 0;
              while (stored < expected) {
                Thread.sleep(250);
                stored = db.queryLong("SELECT count(*) FROM readings");
                if (++polls % 12 == 0) {
                  watcher.sample(); // every 3 s: the live heap while the job runs at full speed
                }
                if (System.nanoTime() - started > TimeUnit.MINUTES.toNanos(5)) {
                  throw new IllegalStateException(
                      "Only " + stored + " of " + expected + " readings after 5 minutes");
                }
              }
              result[0] = expected / ((System.nanoTime() - started) / 1e9);
              watcher.sample();
              checkpoints[0] = cluster.checkpoints(job.getJobID());
            } finally {
              job.cancel().get(1, TimeUnit.MINUTES);
            }
            return 0;
          });
      heap = watcher.peakMb();
    }
    JsonNode summary = checkpoints[0].path("summary");
    return new Run(
        result[0],
        heap,
        summary.path("end_to_end_duration").path("p99").asDouble(),
        summary
            .path("checkpointed_size")
            .path("max")
            .asDouble(summary.path("state_size").path("max").asDouble()));
  }
}
