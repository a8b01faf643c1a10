package io.placebrain.collector.cluster;

import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The collector job as deployed on a {@link FlinkSessionCluster}: its own topics on the test Kafka,
 * a test database, the test MQTT broker, and {@code deploy/flink/submit-job.sh} to submit it.
 */
final class CollectorDeployment {

  static final String PLACE = "6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e";
  static final String JOB_NAME = "collector";

  final TestKafka kafka;
  final TestDatabase db;
  final String run = UUID.randomUUID().toString().substring(0, 8);
  final String telemetryTopic = "telemetry.readings-" + run;
  final String thresholdCreatedTopic = "devices.threshold.created-" + run;
  final String transactionPrefix = "collector-" + run;
  private final FlinkSessionCluster cluster;
  private final Map<String, String> settings = new LinkedHashMap<>();

  CollectorDeployment(FlinkSessionCluster cluster, TestDatabase db) {
    this(cluster, db, TestServices.kafka());
  }

  CollectorDeployment(FlinkSessionCluster cluster, TestDatabase db, TestKafka kafka) {
    this.cluster = cluster;
    this.db = db;
    this.kafka = kafka;
    kafka.createTopic(telemetryTopic, 4);
    settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
    settings.put("kafka.group-id", "collector-" + run);
    settings.put("kafka.telemetry-topic", telemetryTopic);
    settings.put("kafka.threshold-created-topic", thresholdCreatedTopic);
    for (String[] topic :
        new String[][] {
          {"kafka.dead-letter-topic", "telemetry.readings.dlq-"},
          {"kafka.threshold-deleted-topic", "devices.threshold.deleted-"},
          {"kafka.device-deleted-topic", "devices.device.deleted-"},
          {"kafka.devices-bulk-deleted-topic", "devices.device.bulk-deleted-"},
          {"kafka.control-dead-letter-topic", "devices.events.dlq-"},
          {"kafka.alert-resolved-topic", "collector.alerts.resolved-"}
        }) {
      settings.put(topic[0], topic[1] + run);
    }
    kafka.createTopic(thresholdCreatedTopic, 1);
    for (String key :
        List.of(
            "kafka.dead-letter-topic",
            "kafka.threshold-deleted-topic",
            "kafka.device-deleted-topic",
            "kafka.devices-bulk-deleted-topic",
            "kafka.control-dead-letter-topic",
            "kafka.alert-resolved-topic")) {
      kafka.createTopic(settings.get(key), 1);
    }
    settings.put("database.url", db.jdbcUrl());
    settings.put("database.user", db.user());
    if (db.password() != null) {
      settings.put("database.password", db.password());
    }
    settings.put("sink.transaction-prefix", transactionPrefix);
    // A database outage fails the sink over after this instead of the default minute, so an
    // outage test sees the failover sooner.
    settings.put("sink.connect-timeout", "10s");
    settings.put("mqtt.server", TestServices.mqtt().serverUri());
    settings.put("mqtt.client-id", "collector-" + run);
  }

  /** The program arguments, as an operator would put them in {@code JOB_ARGS}. */
  String jobArgs() {
    StringBuilder args = new StringBuilder();
    settings.forEach((key, value) -> args.append(" --").append(key).append(' ').append(value));
    return args.toString().trim();
  }

  /** What {@code submit-job.sh} printed and its exit code. */
  record Submission(int exitCode, String output) {}

  /** Runs {@code deploy/flink/submit-job.sh} as docker-compose's submitter does. */
  Submission submit(Integer parallelism) throws IOException, InterruptedException {
    return submit(parallelism, cluster.cli().toString());
  }

  /** The same with another command as Flink's CLI (e.g. one that always fails). */
  Submission submit(Integer parallelism, String flinkCli) throws IOException, InterruptedException {
    Path output = Files.createTempFile(cluster.logs(), "submit-", ".out");
    ProcessBuilder builder =
        new ProcessBuilder("bash", System.getProperty("collector.submit.script"));
    Map<String, String> environment = builder.environment();
    environment.put("FLINK_CLI", flinkCli);
    environment.put("JOB_JAR", Paths.get(System.getProperty("collector.job.jar")).toString());
    environment.put("JOB_NAME", JOB_NAME);
    environment.put("CHECKPOINT_DIR", cluster.checkpointDirectory().toString());
    environment.put("SAVEPOINT_DIR", cluster.savepointDirectory().toString());
    environment.put("JOB_ARGS", jobArgs());
    environment.put("RETRY_DELAY", "1");
    environment.put("LIST_ATTEMPTS", "2");
    if (parallelism != null) {
      environment.put("PARALLELISM", String.valueOf(parallelism));
    }
    builder.redirectErrorStream(true);
    builder.redirectOutput(output.toFile());
    Process process = builder.start();
    if (!process.waitFor(3, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new IllegalStateException("submit-job.sh did not finish: " + Files.readString(output));
    }
    return new Submission(process.exitValue(), Files.readString(output));
  }

  /** The id of the job of this name the cluster is running (or about to). */
  String activeJobId() throws Exception {
    List<String> ids = new ArrayList<>();
    cluster
        .rest()
        .await(
            java.time.Duration.ofSeconds(60),
            () -> {
              ids.clear();
              ids.addAll(cluster.rest().jobs("CREATED", "INITIALIZING", "RUNNING", "RESTARTING"));
              return ids.size() == 1;
            },
            "exactly one active job");
    return ids.get(0);
  }

  /** A telemetry record of one device with one reading {@code key = value}. */
  void sendReading(String device, String key, double value, Instant time) {
    kafka.send(
        telemetryTopic,
        device,
        "{\"place_id\": \""
            + PLACE
            + "\", \"device_id\": \""
            + device
            + "\", \"payload\": {\"ts\": \""
            + time
            + "\", \"values\": {\""
            + key
            + "\": "
            + value
            + "}}}");
  }

  /** A threshold.created event. */
  void sendThreshold(String thresholdId, String device, String key, String type, double value) {
    kafka.send(
        thresholdCreatedTopic,
        device,
        "{\"sensor_id\": \""
            + UUID.randomUUID()
            + "\", \"device_id\": \""
            + device
            + "\", \"key\": \""
            + key
            + "\", \"threshold_id\": \""
            + thresholdId
            + "\", \"threshold_type\": \""
            + type
            + "\", \"value\": "
            + value
            + ", \"severity\": \"critical\"}");
  }

  /** Prepared (two-phase) transactions of this deployment's sink still open in the database. */
  long preparedTransactions() throws Exception {
    return db.queryLong(
        "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE '"
            + transactionPrefix
            + ":%'");
  }
}
