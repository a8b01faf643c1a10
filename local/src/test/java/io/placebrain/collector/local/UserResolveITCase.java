package io.placebrain.collector.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.placebrain.collector.job.CollectorJob;
import io.placebrain.collector.job.CollectorJobConfig;
import io.placebrain.collector.proto.AlertStatus;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.proto.ResolveAlertRequest;
import io.placebrain.collector.query.QueryService;
import io.placebrain.collector.query.QueryServiceConfig;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A user's resolve through the real query service reaches the real job: the job publishes no second
 * {@code resolved} when the sensor returns to normal, and a later violation opens a new alert.
 */
class UserResolveITCase {

  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();
  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static final String PLACE = "6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e";
  private static final Pattern ID = Pattern.compile("\"id\":\"([0-9a-f-]{36})\"");

  private final TestKafka kafka = TestServices.kafka();
  private final String prefix = TestKafka.uniqueTopic("resolve");
  private final Map<String, String> topics = new HashMap<>();

  @Test
  void aResolvedAlertGetsNoSecondResolvedAndALaterViolationOpensANewAlert() throws Exception {
    for (String name :
        List.of(
            "telemetry-topic",
            "dead-letter-topic",
            "threshold-created-topic",
            "threshold-deleted-topic",
            "device-deleted-topic",
            "devices-bulk-deleted-topic",
            "alert-resolved-topic",
            "control-dead-letter-topic")) {
      topics.put("kafka." + name, prefix + "." + name);
    }
    for (String topic : topics.values()) {
      kafka.createTopic(
          topic,
          topic.endsWith("telemetry-topic") ? 2 : 1,
          topic.contains("-deleted") || topic.contains("threshold") || topic.contains("resolved")
              ? Map.of("cleanup.policy", "compact")
              : Map.of());
    }
    TestDatabase db = DB.get();
    CollectorJobConfig jobConfig = jobConfig(db);
    String device = UUID.randomUUID().toString();
    String threshold = UUID.randomUUID().toString();
    Instant start = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    CollectorJob.build(env, jobConfig);
    JobClient job = env.executeAsync("user-resolve");
    try (MqttRecorder mqtt =
            MqttRecorder.subscribe(TestServices.mqtt(), "placebrain/" + PLACE + "/alerts");
        QueryService service = QueryService.start(serviceConfig(db))) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", service.port()).usePlaintext().build();
      try {
        kafka.send(
            topics.get("kafka.threshold-created-topic"),
            device,
            "{\"sensor_id\": \""
                + UUID.randomUUID()
                + "\", \"device_id\": \""
                + device
                + "\", \"key\": \"temp\", \"threshold_id\": \""
                + threshold
                + "\", \"threshold_type\": \"max\", \"value\": 30, \"severity\": \"warning\"}");
        // The threshold and the readings come from different sources: violate until it fires.
        int second = 0;
        while (events(mqtt, "created").isEmpty()) {
          assertThat(second).as("the threshold never fired").isLessThan(600);
          reading(device, 31, start.plusSeconds(second++));
          Thread.sleep(100);
        }
        String first = id(events(mqtt, "created").get(0));
        await(
            "the job stored the alert",
            () -> count(db, "id = '" + first + "' AND status = 'active'") == 1);

        var resolved =
            CollectorServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(20, TimeUnit.SECONDS)
                .resolveAlert(ResolveAlertRequest.newBuilder().setAlertId(first).build())
                .getAlert();
        assertThat(resolved.getStatus()).isEqualTo(AlertStatus.ALERT_STATUS_RESOLVED);
        mqtt.await(2, Duration.ofSeconds(30)); // the service's "resolved"
        // The job read the resolve: its control source committed the record's offset on a
        // completed checkpoint; two more drain whatever an unaligned barrier overtook.
        JobID id = job.getJobID();
        await("the job read the resolve", () -> committedResolves(jobConfig) >= 1);
        FLINK.awaitMoreCheckpoints(id, 2, Duration.ofSeconds(60));

        reading(device, 20, start.plusSeconds(second++)); // back to normal
        await(
            "the normal reading is stored",
            () ->
                db.queryLong(
                        "SELECT count(*) FROM readings WHERE device_id = '"
                            + device
                            + "' AND value = 20")
                    == 1);
        FLINK.awaitMoreCheckpoints(id, 3, Duration.ofSeconds(60));
        assertThat(events(mqtt, "resolved"))
            .as("only the service's resolved event, none from the job")
            .hasSize(1);
        assertThat(count(db, "id = '" + first + "' AND status = 'resolved'")).isOne();

        reading(device, 33, start.plusSeconds(second++)); // a new violation
        await("a new alert", () -> events(mqtt, "created").size() == 2);
        String next = id(events(mqtt, "created").get(1));
        assertThat(next).isNotEqualTo(first);
        await("the new alert is stored active", () -> count(db, "id = '" + next + "'") == 1);
        assertThat(count(db, "status = 'active'")).isOne();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      job.cancel().get(60, TimeUnit.SECONDS);
    }
  }

  private CollectorJobConfig jobConfig(TestDatabase db) {
    String run = UUID.randomUUID().toString().substring(0, 8);
    Map<String, String> settings = new HashMap<>(topics);
    settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
    settings.put("kafka.group-id", "collector-" + run);
    settings.put("database.url", db.jdbcUrl());
    settings.put("database.user", db.user());
    settings.put("database.password", db.password() == null ? "" : db.password());
    settings.put("sink.transaction-prefix", "collector-" + run);
    settings.put("sink.flush-interval", "200ms");
    settings.put("checkpoint.interval", "300ms");
    settings.put("mqtt.server", TestServices.mqtt().serverUri());
    settings.put("mqtt.version", "5");
    settings.put("mqtt.client-id", "collector-" + run);
    settings.put("mqtt.ack-timeout", "2s");
    return CollectorJobConfig.from(new String[0], Map.of()).with(settings);
  }

  private QueryServiceConfig serviceConfig(TestDatabase db) {
    Map<String, String> settings = new HashMap<>();
    settings.put("server.port", "0");
    settings.put("server.shutdown-grace", "2s");
    settings.put("database.url", db.jdbcUrl());
    settings.put("database.user", db.user() == null ? "" : db.user());
    settings.put("database.password", db.password() == null ? "" : db.password());
    settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
    settings.put("kafka.group-id", "query-" + UUID.randomUUID());
    settings.put("kafka.device-deleted-topic", topics.get("kafka.device-deleted-topic"));
    settings.put(
        "kafka.devices-bulk-deleted-topic", topics.get("kafka.devices-bulk-deleted-topic"));
    settings.put("kafka.alert-resolved-topic", topics.get("kafka.alert-resolved-topic"));
    settings.put("mqtt.server", TestServices.mqtt().serverUri());
    settings.put("mqtt.version", "5");
    settings.put("mqtt.client-id", "query-" + UUID.randomUUID());
    settings.put("mqtt.ack-timeout", "5s");
    return QueryServiceConfig.from(new String[0], Map.of()).with(settings);
  }

  private void reading(String device, double value, Instant at) {
    kafka.send(
        topics.get("kafka.telemetry-topic"),
        device,
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + device
            + "\", \"payload\": {\"ts\": \""
            + at
            + "\", \"values\": {\"temp\": "
            + value
            + "}}}");
  }

  /** The resolves the job's control source committed (on completed checkpoints). */
  private long committedResolves(CollectorJobConfig config) throws Exception {
    TopicPartition partition = new TopicPartition(topics.get("kafka.alert-resolved-topic"), 0);
    try (Admin admin = kafka.admin()) {
      long end =
          admin
              .listOffsets(Map.of(partition, OffsetSpec.latest()))
              .partitionResult(partition)
              .get(10, TimeUnit.SECONDS)
              .offset();
      assertThat(end).as("the service announced the resolve").isGreaterThanOrEqualTo(1);
      var committed =
          admin
              .listConsumerGroupOffsets(config.kafkaGroupId() + "-devices")
              .partitionsToOffsetAndMetadata()
              .get(10, TimeUnit.SECONDS)
              .get(partition);
      return committed == null ? 0 : committed.offset();
    }
  }

  private static List<MqttRecorder.Received> events(MqttRecorder mqtt, String type) {
    return mqtt.received().stream()
        .filter(m -> m.payload().contains("\"event_type\":\"" + type + "\""))
        .toList();
  }

  private static String id(MqttRecorder.Received message) {
    Matcher matcher = ID.matcher(message.payload());
    assertThat(matcher.find()).isTrue();
    return matcher.group(1);
  }

  private static long count(TestDatabase db, String condition) throws Exception {
    return db.queryLong("SELECT count(*) FROM alerts WHERE " + condition);
  }

  private static void await(String what, Callable<Boolean> condition) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.call()) {
      assertThat(System.nanoTime()).as("waiting for: " + what).isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
