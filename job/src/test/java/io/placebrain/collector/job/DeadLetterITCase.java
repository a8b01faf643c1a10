package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.deadletter.DeadLetterSerializer;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.kafka.TestKafka;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A corpus of bad records mixed with good ones: every bad one reaches the dead-letter topic with
 * its reason and origin, every good one lands in the database, and the job (with restarts disabled)
 * never fails.
 */
class DeadLetterITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final String PLACE = JobHarness.PLACE;

  @Test
  void badRecordsAreDeadLetteredAndGoodOnesLand() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    JobHarness harness = new JobHarness(DB.get(), Map.of("parser.max-record-bytes", "4096"));
    String device = UUID.randomUUID().toString();
    String now = Instant.now().minusSeconds(60).toString();

    // expected reason per offset-independent marker: the value itself identifies the record
    Map<String, String> badRecords = new HashMap<>();
    badRecords.put("this is not json", "not-json");
    badRecords.put("[1,2,3]", "not-an-object");
    badRecords.put(
        "{\"device_id\": \"" + device + "\", \"payload\": {\"values\": {\"t\": 1}}}",
        "missing-field");
    badRecords.put(envelope("not-a-uuid", "{\"values\": {\"t\": 1}}"), "invalid-uuid");
    badRecords.put(envelope(device, "42"), "wrong-type");
    badRecords.put(
        envelope(device, "{\"ts\": \"1999-01-01T00:00:00Z\", \"values\": {\"t\": 1}}"),
        "timestamp-out-of-range");
    badRecords.put(
        envelope(device, "{\"ts\": \"2999-01-01T00:00:00Z\", \"values\": {\"t\": 1}}"),
        "timestamp-out-of-range");
    badRecords.put(
        envelope(device, "{\"ts\": \"noon\", \"values\": {\"t\": 1}}"), "invalid-timestamp");
    badRecords.put(envelope(device, "{\"values\": {}}"), "no-values");
    badRecords.put(
        envelope(device, "{\"values\": {\"big\": \"" + "x".repeat(5000) + "\"}}"), "too-large");

    List<String> good = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      good.add(harness.telemetry(device, "good", i, Instant.parse(now).plusSeconds(i).toString()));
    }
    // One record with good and bad values: the good ones land, the bad ones share one dead letter.
    String mixed =
        envelope(
            device,
            "{\"ts\": \""
                + now
                + "\", \"values\": {\"mixed_ok\": 1, \"mixed_nan\": NaN, \"mixed_text\": \"hot\", \""
                + "k".repeat(101)
                + "\": 3}}");

    int i = 0;
    for (Map.Entry<String, String> bad : badRecords.entrySet()) {
      harness.kafka.send(harness.telemetryTopic, device, bad.getKey());
      harness.kafka.send(harness.telemetryTopic, device, good.get(i++));
    }
    harness.kafka.send(
        new ProducerRecord<>(
            harness.telemetryTopic, device.getBytes(StandardCharsets.UTF_8), null));
    harness.kafka.send(harness.telemetryTopic, device, mixed);
    for (; i < good.size(); i++) {
      harness.kafka.send(harness.telemetryTopic, device, good.get(i));
    }

    StreamExecutionEnvironment env = harness.environment(0);
    // The job exactly as main wires it.
    CollectorJob.build(env, harness.config);
    JobClient job = env.executeAsync("dead letters");
    try {
      int expectedDeadLetters = badRecords.size() + 1 /* empty record */ + 1 /* mixed values */;
      harness.kafka.consume(harness.deadLetterTopic, expectedDeadLetters, Duration.ofSeconds(60));
      boolean landed =
          JobHarness.await(
              Duration.ofSeconds(30),
              () ->
                  DB.get()
                          .queryLong(
                              "SELECT count(*) FROM readings WHERE device_id = '" + device + "'")
                      >= 21);
      // Evidence, not a pause: anything still to come would have been committed by now.
      FLINK.awaitMoreCheckpoints(job.getJobID(), 3, Duration.ofSeconds(60));

      assertThat(job.getJobStatus().get()).as("the job never failed").isEqualTo(JobStatus.RUNNING);
      assertThat(landed).isTrue();
      assertThat(
              DB.get()
                  .queryLong(
                      "SELECT count(*) FROM readings WHERE device_id = '"
                          + device
                          + "' AND key = 'good'"))
          .isEqualTo(20);
      assertThat(
              DB.get()
                  .queryLong(
                      "SELECT count(*) FROM readings WHERE device_id = '"
                          + device
                          + "' AND key = 'mixed_ok'"))
          .isEqualTo(1);
      assertThat(
              DB.get()
                  .queryLong("SELECT count(*) FROM readings WHERE device_id = '" + device + "'"))
          .isEqualTo(21);

      List<ConsumerRecord<byte[], byte[]>> letters =
          harness.kafka.consumeAll(harness.deadLetterTopic, Duration.ofSeconds(30));
      assertThat(letters).hasSize(expectedDeadLetters);
      for (ConsumerRecord<byte[], byte[]> letter : letters) {
        assertThat(TestKafka.header(letter, DeadLetterSerializer.SOURCE_TOPIC))
            .isEqualTo(harness.telemetryTopic);
        assertThat(TestKafka.header(letter, DeadLetterSerializer.SOURCE_PARTITION)).isNotNull();
        assertThat(TestKafka.header(letter, DeadLetterSerializer.SOURCE_OFFSET)).isNotNull();
        assertThat(TestKafka.header(letter, DeadLetterSerializer.DETAIL)).isNotBlank();
        assertThat(TestKafka.utf8(letter.key())).isEqualTo(device);
      }
      Map<String, String> reasonByValue = new HashMap<>();
      List<String> mixedReasons = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> letter : letters) {
        String value = TestKafka.utf8(letter.value());
        String reason = TestKafka.header(letter, DeadLetterSerializer.REASON);
        if (mixed.equals(value)) {
          mixedReasons.add(TestKafka.header(letter, DeadLetterSerializer.REJECTED_VALUES));
          mixedReasons.add(TestKafka.header(letter, DeadLetterSerializer.REASONS));
          mixedReasons.add(TestKafka.header(letter, DeadLetterSerializer.REJECTIONS));
        } else {
          reasonByValue.put(value, reason);
        }
      }
      Map<String, String> expectedReasons = new HashMap<>(badRecords);
      expectedReasons.put(null, "empty-record");
      assertThat(reasonByValue).isEqualTo(expectedReasons);
      assertThat(mixedReasons).hasSize(3);
      assertThat(mixedReasons.get(0)).isEqualTo("3");
      assertThat(mixedReasons.get(1)).isEqualTo("invalid-value,invalid-key");
      assertThat(mixedReasons.get(2))
          .contains("\"key\":\"mixed_nan\",\"reason\":\"invalid-value\"")
          .contains("\"key\":\"mixed_text\",\"reason\":\"invalid-value\"")
          .contains("\"reason\":\"invalid-key\"");
    } finally {
      job.cancel().get();
    }
  }

  private static String envelope(String device, String payload) {
    return "{\"place_id\": \""
        + PLACE
        + "\", \"device_id\": \""
        + device
        + "\", \"payload\": "
        + payload
        + "}";
  }
}
