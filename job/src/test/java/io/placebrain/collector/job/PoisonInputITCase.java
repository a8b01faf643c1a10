package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.deadletter.DeadLetterSerializer;
import io.placebrain.collector.deadletter.RejectReason;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.telemetry.KafkaRecord;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.telemetry.TelemetryOutput;
import io.placebrain.collector.telemetry.TelemetryParser;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.kafka.TestKafka;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Thousands of generated hostile records, interleaved with good ones, through the whole job as
 * {@code main} wires it, with restarts switched off so that any failure fails the test: every good
 * reading is stored exactly once, every bad record yields exactly one dead letter with a reason,
 * rows the database itself refuses land in {@code rejected_rows}, and checkpoints keep completing.
 *
 * <p>What the job should do with each record is predicted by the telemetry parser, which its own
 * tests check value by value; this test checks that the pipeline around it keeps every promise.
 */
class PoisonInputITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final int ROUNDS = 1500;
  private static final int DEVICES = 40;

  /** A value the parser accepts and a CHECK constraint refuses: the sinks' second line. */
  private static final double REFUSED_BY_DATABASE = -7.77e77;

  @Test
  void noRecordStopsIngestionAndNothingIsLostOrDuplicated() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    DB.get()
        .execute(
            "ALTER TABLE readings ADD CONSTRAINT readings_refused CHECK (value <> "
                + REFUSED_BY_DATABASE
                + ")");
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    long seed = System.nanoTime();
    System.out.println("PoisonInputITCase seed " + seed);
    Instant base = Instant.now().minus(Duration.ofHours(1));
    HostileTelemetry hostile = new HostileTelemetry(seed, JobHarness.PLACE, base);
    TelemetryParser oracle = new TelemetryParser(harness.config.parserSettings());
    Expected expected = new Expected();
    List<String> devices = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      devices.add(UUID.randomUUID().toString());
    }

    for (int round = 0; round < ROUNDS; round++) {
      String device = devices.get(round % DEVICES);
      byte[] good =
          utf8(harness.telemetry(device, round % 2 == 0 ? "temp" : "hum", round, hostile.time()));
      send(harness, device, good, oracle, expected);
      send(harness, device, hostile.next(device, good), oracle, expected);
      if (round % 100 == 0) {
        String refused = harness.telemetry(device, "temp", REFUSED_BY_DATABASE, hostile.time());
        send(harness, device, utf8(refused), oracle, expected);
        expected.refusedByDatabase++;
      }
    }
    for (byte[] record : hostile.everyReason(devices.get(0))) {
      send(harness, devices.get(0), record, oracle, expected);
    }
    send(harness, devices.get(1), null, oracle, expected);
    sendCompressed(harness, devices.get(1), hostile.hugeRecord(devices.get(1)), oracle, expected);
    // Hostile device events go their own way, to the devices dead-letter topic.
    List<String> badControl =
        List.of(
            "{]",
            JobHarness.threshold(
                UUID.randomUUID().toString(), devices.get(2), "te\\u0000mp", "max", 1, "warning"),
            JobHarness.threshold(
                UUID.randomUUID().toString(), devices.get(2), "\\ud800", "max", 1, "warning"),
            "{\"sensor_id\": 1}");
    for (String event : badControl) {
      harness.kafka.send(harness.thresholdCreatedTopic, devices.get(2), event);
    }
    assertThat(expected.deadLetters.values())
        .contains(RejectReason.TOO_LARGE.code(), RejectReason.TOO_MANY_VALUES.code());

    StreamExecutionEnvironment env = harness.environment(0);
    CollectorJob.build(env, harness.config);
    JobClient job = env.executeAsync("poison input");
    try {
      boolean done =
          JobHarness.await(
              Duration.ofSeconds(180),
              () ->
                  count("SELECT count(*) FROM readings") >= expected.readingCount()
                      && count("SELECT count(*) FROM rejected_rows") >= expected.refusedByDatabase
                      && harness
                              .kafka
                              .consume(
                                  harness.deadLetterTopic,
                                  expected.deadLetters.size(),
                                  Duration.ofMillis(500))
                              .size()
                          >= expected.deadLetters.size());
      assertThat(FLINK.failure(job.getJobID())).as("the job never failed").isNull();
      assertThat(done).as("everything arrived").isTrue();
      // Evidence, not a pause: three more checkpoints committed whatever could still follow.
      FLINK.awaitMoreCheckpoints(job.getJobID(), 3, Duration.ofSeconds(60));
      assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
      assertThat(FLINK.failure(job.getJobID())).isNull();

      assertThat(storedReadings())
          .as("every good reading exactly once")
          .isEqualTo(expected.readings);
      assertThat(count("SELECT count(*) FROM rejected_rows WHERE target_table = 'readings'"))
          .isEqualTo(expected.refusedByDatabase);

      List<ConsumerRecord<byte[], byte[]>> letters =
          harness.kafka.consumeAll(harness.deadLetterTopic, Duration.ofSeconds(30));
      Map<String, String> reasonByOrigin = new HashMap<>();
      for (ConsumerRecord<byte[], byte[]> letter : letters) {
        String origin =
            TestKafka.header(letter, DeadLetterSerializer.SOURCE_PARTITION)
                + "@"
                + TestKafka.header(letter, DeadLetterSerializer.SOURCE_OFFSET);
        String previous =
            reasonByOrigin.put(origin, TestKafka.header(letter, DeadLetterSerializer.REASON));
        assertThat(previous).as("one dead letter per record: " + origin).isNull();
        assertThat(TestKafka.header(letter, DeadLetterSerializer.DETAIL)).isNotBlank();
        int headerBytes = 0;
        for (var header : letter.headers()) {
          headerBytes += header.key().length() + header.value().length;
        }
        assertThat(letter.serializedValueSize() + letter.serializedKeySize() + headerBytes)
            .isLessThan(DeadLetterSerializer.DEFAULT_MAX_RECORD_BYTES);
      }
      assertThat(reasonByOrigin).isEqualTo(expected.deadLetters);
      assertThat(harness.kafka.consumeAll(harness.controlDeadLetterTopic, Duration.ofSeconds(30)))
          .hasSize(badControl.size());
    } finally {
      job.cancel().get();
    }
  }

  private static void send(
      JobHarness harness, String device, byte[] value, TelemetryParser oracle, Expected expected) {
    RecordMetadata sent =
        harness.kafka.send(
            new ProducerRecord<>(
                harness.telemetryTopic, device.getBytes(StandardCharsets.UTF_8), value));
    expected.add(sent, device, value, oracle);
  }

  /** Sends gzip-compressed, as a device gateway may: the broker's limit applies to the batch. */
  private static void sendCompressed(
      JobHarness harness, String device, byte[] value, TelemetryParser oracle, Expected expected)
      throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, harness.kafka.bootstrapServers());
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "gzip");
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(8 << 20));
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      RecordMetadata sent =
          producer
              .send(
                  new ProducerRecord<>(
                      harness.telemetryTopic, device.getBytes(StandardCharsets.UTF_8), value))
              .get();
      expected.add(sent, device, value, oracle);
    }
  }

  /** Every stored row and how often it is stored. */
  private static Map<String, Integer> storedReadings() throws Exception {
    Map<String, Integer> rows = new HashMap<>();
    try (Connection connection = DB.get().connect();
        Statement statement = connection.createStatement();
        ResultSet result =
            statement.executeQuery("SELECT device_id::text, key, time, value FROM readings")) {
      while (result.next()) {
        Instant time = result.getObject(3, OffsetDateTime.class).toInstant();
        rows.merge(
            row(
                result.getString(1),
                result.getString(2),
                time.getEpochSecond() * 1_000_000L + time.getNano() / 1000,
                result.getDouble(4)),
            1,
            Integer::sum);
      }
    }
    return rows;
  }

  private static long count(String sql) throws Exception {
    return DB.get().queryLong(sql);
  }

  private static String row(String device, String key, long micros, double value) {
    return device + "|" + key + "|" + micros + "|" + value;
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** What the job must produce for what was sent. */
  private static final class Expected {
    /** Rows and how often each must be stored: a damaged copy of a good record may repeat it. */
    final Map<String, Integer> readings = new HashMap<>();

    long readingCount() {
      return readings.values().stream().mapToLong(Integer::longValue).sum();
    }

    final Map<String, String> deadLetters = new HashMap<>();
    long refusedByDatabase;

    void add(RecordMetadata sent, String device, byte[] value, TelemetryParser oracle) {
      List<DeadLetter> letters = new ArrayList<>();
      oracle.parse(
          new KafkaRecord(
              sent.topic(),
              sent.partition(),
              sent.offset(),
              sent.timestamp(),
              device.getBytes(StandardCharsets.UTF_8),
              value),
          new TelemetryOutput() {
            @Override
            public void reading(Reading reading) {
              if (reading.value != REFUSED_BY_DATABASE) {
                readings.merge(
                    row(
                        reading.deviceId().toString(),
                        reading.key,
                        reading.timeMicros,
                        reading.value),
                    1,
                    Integer::sum);
              }
            }

            @Override
            public void rejected(DeadLetter letter) {
              letters.add(letter);
            }
          });
      assertThat(letters).as("the parser's own promise").hasSizeLessThanOrEqualTo(1);
      for (DeadLetter letter : letters) {
        deadLetters.put(sent.partition() + "@" + sent.offset(), letter.reason);
      }
    }
  }
}
