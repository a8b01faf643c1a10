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
import java.util.function.LongPredicate;
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
      double rowsPerSecond,
      double sustainedRowsPerSecond,
      double peakHeapMb,
      double checkpointP99Ms,
      double checkpointBytes,
      double cpuMsPerMillionReadings,
      double jvmCpuMsPerMillionReadings,
      double serverCpuMsPerMillionReadings) {}

  /** Every tenth sensor (device × key) has a threshold, so some alerts flow during the runs. */
  static final int SENSORS_PER_THRESHOLD = 10;

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
    double[] result = new double[5];
    JsonNode[] checkpoints = new JsonNode[1];
    double heap;
    try (HeapWatcher watcher = new HeapWatcher()) {
      Throughput.withDatabase(
          db -> {
            StreamExecutionEnvironment env = cluster.environment(2);
            CollectorJobConfig config = config(db, topic);
            publishThresholds(config, SENSORS_PER_THRESHOLD);
            CollectorJob.build(env, config);
            TaskCpu cpu = new TaskCpu();
            ProcessCpu processes = new ProcessCpu(db);
            long started = System.nanoTime();
            JobClient job = env.executeAsync("bench job");
            try {
              // While the job runs, its progress comes from the sink's metric; counting the table
              // (a scan of millions of rows) would take the database's CPU from the job.
              SteadyRate steady = new SteadyRate(expected);
              String sentQuery = null;
              long sent = 0;
              int polls = 0;
              while (sent < expected) {
                Thread.sleep(250);
                if (sentQuery == null) {
                  sentQuery = cluster.readingsSinkRowsSentQuery(job.getJobID());
                } else {
                  sent = cluster.rowsSent(sentQuery);
                  steady.observe(System.nanoTime(), sent);
                }
                cpu.sample();
                if (++polls % 12 == 0) {
                  watcher.sample(); // every 3 s: the live heap while the job runs at full speed
                }
                checkTime(started, sent, expected);
              }
              long stored = 0;
              while (stored < expected) {
                stored = db.queryLong("SELECT count(*) FROM readings");
                if (stored < expected) {
                  Thread.sleep(50);
                }
                checkTime(started, stored, expected);
              }
              result[0] = expected / ((System.nanoTime() - started) / 1e9);
              cpu.sample();
              result[1] = cpu.totalMs() / (expected / 1e6);
              result[2] = steady.rowsPerSecond();
              result[3] = processes.jvmMs() / (expected / 1e6);
              result[4] = processes.serverMs() / (expected / 1e6);
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
        result[2],
        heap,
        summary.path("end_to_end_duration").path("p99").asDouble(),
        summary
            .path("checkpointed_size")
            .path("max")
            .asDouble(summary.path("state_size").path("max").asDouble()),
        result[1],
        result[3],
        result[4]);
  }

  private static void checkTime(long started, long done, long expected) {
    if (System.nanoTime() - started > TimeUnit.MINUTES.toNanos(5)) {
      throw new IllegalStateException(
          "Only " + done + " of " + expected + " readings after 5 minutes");
    }
  }

  /**
   * One record (three readings) per device of this instance's rows, with a threshold on every
   * device's first key so every device has evaluation state; once all are committed, one bulk
   * deletion of the first {@code deleted} devices. Returns milliseconds from publishing the
   * deletion until none of those devices' readings is left in {@code readings} (the job's
   * checkpoint interval is part of it: the deletion runs once everything before it is committed).
   */
  double bulkDeletion(String topic, int deleted) throws Exception {
    long expected = (long) rows.devices() * 3;
    double[] result = new double[1];
    Throughput.withDatabase(
        db -> {
          StreamExecutionEnvironment env = cluster.environment(2);
          CollectorJobConfig config = config(db, topic);
          publishThresholds(config, BenchRows.KEYS.length);
          CollectorJob.build(env, config);
          JobClient job = env.executeAsync("bench bulk deletion");
          try {
            awaitCount(db, "SELECT count(*) FROM readings", n -> n >= expected, "readings");
            StringBuilder ids = new StringBuilder();
            StringBuilder list = new StringBuilder();
            for (int d = 0; d < deleted; d++) {
              ids.append(d == 0 ? "" : ",").append('"').append(rows.device(d)).append('"');
              list.append(d == 0 ? "" : ",").append('\'').append(rows.device(d)).append('\'');
            }
            try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(
                    Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                    new ByteArraySerializer(),
                    new ByteArraySerializer())) {
              long published = System.nanoTime();
              producer
                  .send(
                      new ProducerRecord<>(
                          config.controlTopics().devicesBulkDeleted(),
                          UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8),
                          ("{\"device_ids\":[" + ids + "]}").getBytes(StandardCharsets.UTF_8)))
                  .get(30, TimeUnit.SECONDS);
              awaitCount(
                  db,
                  "SELECT count(*) FROM readings WHERE device_id IN (" + list + ")",
                  n -> n == 0,
                  "readings of deleted devices left");
              result[0] = (System.nanoTime() - published) / 1e6;
            }
          } finally {
            job.cancel().get(1, TimeUnit.MINUTES);
          }
          return 0;
        });
    return result[0];
  }

  /** Polls {@code query} (a count) until {@code done}, for at most 5 minutes. */
  private static void awaitCount(TestDatabase db, String query, LongPredicate done, String what)
      throws Exception {
    long started = System.nanoTime();
    long value = db.queryLong(query);
    while (!done.test(value)) {
      if (System.nanoTime() - started > TimeUnit.MINUTES.toNanos(5)) {
        throw new IllegalStateException(what + ": " + value + " after 5 minutes");
      }
      Thread.sleep(50);
      value = db.queryLong(query);
    }
  }

  /**
   * Thresholds on every {@link #SENSORS_PER_THRESHOLD}th sensor of the pre-loaded telemetry, before
   * the job starts. Temperatures cycle through 0–29.9, so the {@code max 28.5} thresholds of a few
   * devices are crossed and left again over and over: alerts are created and resolved throughout.
   */
  void publishThresholds(CollectorJobConfig config, int sensorsPerThreshold) throws Exception {
    double[] limits = {28.5, 49.5, 998.5};
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      for (int d = 0; d < rows.devices(); d++) {
        for (int k = 0; k < BenchRows.KEYS.length; k++) {
          if ((d * BenchRows.KEYS.length + k) % sensorsPerThreshold != 0) {
            continue;
          }
          String sensor = UUID.randomUUID().toString();
          producer.send(
              new ProducerRecord<>(
                  config.controlTopics().thresholdCreated(),
                  sensor.getBytes(StandardCharsets.UTF_8),
                  ("{\"sensor_id\":\""
                          + sensor
                          + "\",\"device_id\":\""
                          + rows.device(d)
                          + "\",\"key\":\""
                          + BenchRows.KEYS[k]
                          + "\",\"threshold_id\":\""
                          + UUID.randomUUID()
                          + "\",\"threshold_type\":\"max\",\"value\":"
                          + limits[k]
                          + ",\"severity\":\"warning\"}")
                      .getBytes(StandardCharsets.UTF_8)));
        }
      }
      producer.flush();
    }
  }
}
