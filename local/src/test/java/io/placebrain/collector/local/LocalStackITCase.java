package io.placebrain.collector.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.placebrain.collector.local.embedded.Ports;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.proto.GetLatestReadingsRequest;
import io.placebrain.collector.proto.SensorReading;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local command, in this JVM, on free ports: the job reaches RUNNING in the web UI's REST API,
 * simulated readings reach PostgreSQL, an alert reaches MQTT, bad records are dead-lettered, the
 * query service answers over gRPC; stopping releases every port and the PostgreSQL process, and a
 * second start over the same data directory resumes from the savepoint the first one took.
 */
class LocalStackITCase {

  @Test
  void runsEverythingStopsCleanlyAndResumes(@TempDir Path data) throws Exception {
    Map<String, Integer> ports =
        Map.of(
            "kafka.port", Ports.free(),
            "postgres.port", Ports.free(),
            "mqtt.port", Ports.free(),
            "grpc.port", Ports.free(),
            "web-ui.port", Ports.free());
    LocalOptions options =
        LocalOptions.from(new String[0], Map.of())
            .with(
                Map.of(
                    "data-dir", data.toString(),
                    "simulator.rate", "40",
                    "simulator.period", "15s",
                    "status.interval", "2s"))
            .with(
                Map.of(
                    "kafka.port", ports.get("kafka.port").toString(),
                    "postgres.port", ports.get("postgres.port").toString(),
                    "mqtt.port", ports.get("mqtt.port").toString(),
                    "grpc.port", ports.get("grpc.port").toString(),
                    "web-ui.port", ports.get("web-ui.port").toString()));

    ByteArrayOutputStream console = new ByteArrayOutputStream();
    long rowsBefore;
    try (LocalStack stack =
        LocalStack.start(options, new PrintStream(console, true, StandardCharsets.UTF_8))) {
      String printed = console.toString(StandardCharsets.UTF_8);
      assertThat(printed)
          .contains("http://localhost:" + ports.get("web-ui.port"))
          .contains("localhost:" + ports.get("grpc.port"))
          .contains("Ctrl-C stops everything");

      await("the job RUNNING in the REST API", () -> jobsOverview(ports).contains("\"RUNNING\""));

      List<String> alerts = new CopyOnWriteArrayList<>();
      Mqtt3AsyncClient subscriber =
          MqttClient.builder()
              .identifier("local-stack-test")
              .serverHost("127.0.0.1")
              .serverPort(ports.get("mqtt.port"))
              .useMqttVersion3()
              .buildAsync();
      subscriber.connect().get(10, TimeUnit.SECONDS);
      subscriber
          .subscribeWith()
          .topicFilter("placebrain/+/alerts")
          .qos(MqttQos.AT_LEAST_ONCE)
          .callback(
              message ->
                  alerts.add(new String(message.getPayloadAsBytes(), StandardCharsets.UTF_8)))
          .send()
          .get(10, TimeUnit.SECONDS);

      await("readings in PostgreSQL", () -> rows(stack, "readings") > 0);
      await(
          "an alert on MQTT",
          () -> alerts.stream().anyMatch(a -> a.contains("\"event_type\":\"created\"")));
      await("an alert row", () -> rows(stack, "alerts") > 0);
      await("a dead-lettered record", () -> counts(stack).deadLettered() > 0);
      await("the product's metrics in the web UI", () -> productMetricsShown(ports));
      await("a status line", () -> console.toString(StandardCharsets.UTF_8).contains("readings/s"));
      subscriber.disconnect().get(10, TimeUnit.SECONDS);

      ManagedChannel channel =
          NettyChannelBuilder.forAddress("localhost", stack.grpcPort()).usePlaintext().build();
      try {
        String device = stack.simulator().devices().get(0).deviceId().toString();
        await(
            "latest readings over gRPC",
            () ->
                CollectorServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getLatestReadings(
                        GetLatestReadingsRequest.newBuilder().setDeviceId(device).build())
                    .getReadingsList()
                    .stream()
                    .map(SensorReading::getKey)
                    .toList()
                    .containsAll(List.of("co2", "humidity", "temperature")));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      rowsBefore = rows(stack, "readings");
    }

    for (Map.Entry<String, Integer> port : ports.entrySet()) {
      await(
          port.getKey() + " " + port.getValue() + " released", () -> Ports.isFree(port.getValue()));
    }
    assertThat(postgresProcesses(data)).as("PostgreSQL processes left").isEmpty();
    try (Stream<Path> savepoints = Files.list(data.resolve("flink").resolve("savepoints"))) {
      assertThat(savepoints).as("savepoint taken on stop").isNotEmpty();
    }

    // The second start is the command itself, in its own process, stopped like Ctrl-C does.
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(LocalStack.class.getName());
    command.add("--data-dir");
    command.add(data.toString());
    command.add("--simulator");
    command.add("false");
    ports.forEach(
        (option, port) -> {
          command.add("--" + option);
          command.add(port.toString());
        });
    // To a file: readable at any time, also after the process ended (PostgreSQL's server
    // processes inherit the output too and would keep a pipe open).
    Path console2 = data.resolve("second-start.out");
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(console2.toFile())
            .start();
    Supplier<String> output =
        () -> {
          try {
            return Files.readString(console2);
          } catch (Exception e) {
            return "";
          }
        };
    try {
      await("the second start to resume", () -> output.get().contains("Ctrl-C stops everything"));
      assertThat(output.get()).contains("resumed from");
      await("the job RUNNING again", () -> jobsOverview(ports).contains("\"RUNNING\""));
      process.destroy(); // SIGTERM: what Ctrl-C triggers too
      assertThat(process.waitFor(2, TimeUnit.MINUTES)).as("the command exits").isTrue();
      assertThat(output.get())
          .as("exit code %s", process.exitValue())
          .contains("Stopped. Data kept in " + data);
    } finally {
      process.destroyForcibly();
    }
    for (int port : ports.values()) {
      await("port " + port + " released again", () -> Ports.isFree(port));
    }
    assertThat(postgresProcesses(data)).as("PostgreSQL processes left").isEmpty();
    try (Connection check =
        DriverManager.getConnection(
            "jdbc:postgresql://localhost:" + ports.get("postgres.port") + "/postgres",
            "collector",
            "collector")) {
      throw new AssertionError("PostgreSQL still answers after the stop");
    } catch (java.sql.SQLException expected) {
      // Nothing listens any more.
    }
    assertThat(rowsBefore).isPositive();
  }

  @Test
  void usesRealServicesWhenTheirEndpointsAreGiven(@TempDir Path data) throws Exception {
    TestDatabase database = TestServices.postgres().createDatabase();
    try {
      Map<String, Integer> ports = Map.of("web-ui.port", Ports.free(), "grpc.port", Ports.free());
      Map<String, String> endpoints = new HashMap<>();
      endpoints.put("data-dir", data.toString());
      endpoints.put("web-ui.port", ports.get("web-ui.port").toString());
      endpoints.put("grpc.port", ports.get("grpc.port").toString());
      endpoints.put("kafka.bootstrap-servers", TestServices.kafka().bootstrapServers());
      endpoints.put("database.url", database.jdbcUrl());
      endpoints.put("database.user", database.user());
      endpoints.put("database.password", database.password() == null ? "" : database.password());
      endpoints.put("mqtt.server", TestServices.mqtt().serverUri());
      endpoints.put("mqtt.version", "3.1.1");
      endpoints.put("simulator.rate", "40");
      try (LocalStack stack =
          LocalStack.start(
              LocalOptions.from(new String[0], Map.of()).with(endpoints),
              new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
        assertThat(stack.databaseUrl()).isEqualTo(database.jdbcUrl());
        assertThat(stack.mqttServer()).isEqualTo(TestServices.mqtt().serverUri());
        await("the job RUNNING", () -> jobsOverview(ports).contains("\"RUNNING\""));
        await(
            "readings in the given database",
            () -> {
              try {
                return database.queryLong("SELECT count(*) FROM readings") > 0;
              } catch (Exception e) {
                return false;
              }
            });
        assertThat(data.resolve("postgres")).as("no embedded PostgreSQL").doesNotExist();
        assertThat(data.resolve("kafka")).as("no embedded Kafka").doesNotExist();
      }
      // The stack stops only what it started.
      assertThat(TestServices.mqtt().isRunning()).isTrue();
      assertThat(database.queryLong("SELECT 1")).isOne();
      try (var admin = TestServices.kafka().admin()) {
        assertThat(admin.listTopics().names().get(10, TimeUnit.SECONDS))
            .contains("telemetry.readings");
      }
    } finally {
      database.drop();
    }
  }

  private static String jobsOverview(Map<String, Integer> ports) {
    return get(ports, "/jobs/overview");
  }

  /** The parse operator's {@code telemetryRecords} metric, as the web UI lists it. */
  private static boolean productMetricsShown(Map<String, Integer> ports) {
    Matcher job = Pattern.compile("\"jid\":\"([0-9a-f]+)\"").matcher(jobsOverview(ports));
    if (!job.find()) {
      return false;
    }
    String jid = job.group(1);
    Matcher vertex =
        Pattern.compile("\"id\":\"([0-9a-f]{32})\"").matcher(get(ports, "/jobs/" + jid));
    while (vertex.find()) {
      if (get(ports, "/jobs/" + jid + "/vertices/" + vertex.group(1) + "/metrics")
          .contains("telemetryRecords")) {
        return true;
      }
    }
    return false;
  }

  private static String get(Map<String, Integer> ports, String path) {
    try {
      return HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(
                      URI.create("http://localhost:" + ports.get("web-ui.port") + path))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (Exception e) {
      return "";
    }
  }

  private static long rows(LocalStack stack, String table) {
    try (Connection connection =
            DriverManager.getConnection(stack.databaseUrl(), "collector", "collector");
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SELECT count(*) FROM " + table)) {
      row.next();
      return row.getLong(1);
    } catch (Exception e) {
      return -1;
    }
  }

  private static StatusLine.Counts counts(LocalStack stack) {
    try {
      return stack.counts();
    } catch (Exception e) {
      return new StatusLine.Counts(0, 0, 0, 0);
    }
  }

  /**
   * The command killed with SIGKILL (an OOM kill, a closed terminal) mid-stream leaves its
   * PostgreSQL running on the data directory and port; the next start recognises it, stops it,
   * resumes from the newest retained checkpoint, and every reading and every dead letter of what
   * the telemetry topic holds is stored exactly once; a normal stop then leaves nothing behind.
   */
  @Test
  void startsAgainAfterBeingKilledWithSigkill(@TempDir Path data) throws Exception {
    Map<String, Integer> ports =
        Map.of(
            "kafka.port", Ports.free(),
            "postgres.port", Ports.free(),
            "mqtt.port", Ports.free(),
            "grpc.port", Ports.free(),
            "web-ui.port", Ports.free());
    try {
      killedAndStartedAgain(data, ports);
    } finally {
      // Leaves no server behind if the start after the kill failed.
      io.placebrain.collector.local.embedded.LocalPostgres.stopLeftover(data, System.out);
    }
  }

  private static void killedAndStartedAgain(Path data, Map<String, Integer> ports)
      throws Exception {
    Path console1 = data.resolve("first-start.out");
    Process first = startCommand(data, ports, console1);
    String kafka = "localhost:" + ports.get("kafka.port");
    TelemetryStream stream = new TelemetryStream(kafka);
    long storedAtKill;
    try {
      await("the first start", () -> read(console1).contains("Ctrl-C stops everything"));
      await("the job RUNNING", () -> jobsOverview(ports).contains("\"RUNNING\""));
      stream.start();
      // Mid-stream: the first readings are committed while records keep arriving.
      await("readings committed", () -> storedReadings(ports).size() > 0);
      await("a completed checkpoint", () -> completedCheckpoints(ports) > 0);
      storedAtKill = storedReadings(ports).size();
    } finally {
      first.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook runs
    }
    assertThat(postgresProcesses(data))
        .as("the killed run's PostgreSQL is left running")
        .isNotEmpty();
    assertThat(stream.sent()).as("records sent before the kill").isGreaterThan(storedAtKill);

    Path console2 = data.resolve("second-start.out");
    Process second = startCommand(data, ports, console2);
    try {
      await(
          "the start after the kill",
          () -> read(console2).contains("Ctrl-C stops everything") || !second.isAlive());
      assertThat(read(console2))
          .contains("left running by an earlier run")
          .contains("Ctrl-C stops everything")
          .doesNotContain("already in use");
      assertThat(read(console2)).contains("resumed from");
      await("the job RUNNING again", () -> jobsOverview(ports).contains("\"RUNNING\""));
      long sentBeforeRestart = stream.sent();
      await("records sent after the restart", () -> stream.sent() > sentBeforeRestart + 500);
      stream.stop();

      // What the topic holds is what must be stored: each valid record's reading once, each bad
      // record's dead letter once (read_committed, so aborted transactions do not count).
      Topic topic = readTopic(kafka, "telemetry.readings");
      assertThat(topic.readings()).as("valid records in the topic").isNotEmpty();
      assertThat(topic.bad()).as("bad records in the topic").isNotEmpty();
      await("every reading stored", () -> storedReadings(ports).size() >= topic.readings().size());
      await(
          "every dead letter committed",
          () -> readTopic(kafka, "telemetry.readings.dlq").all().size() >= topic.bad().size());
      // Evidence that nothing more arrives late: two more checkpoints of the resumed job.
      awaitMoreCheckpoints(ports, 2);
      assertThat(storedReadings(ports))
          .as("every reading exactly once")
          .containsExactlyInAnyOrderElementsOf(topic.readings());
      assertThat(readTopic(kafka, "telemetry.readings.dlq").all())
          .as("every dead letter exactly once")
          .containsExactlyInAnyOrderElementsOf(topic.bad());

      second.destroy(); // SIGTERM: what Ctrl-C triggers too
      assertThat(second.waitFor(2, TimeUnit.MINUTES)).as("the command exits").isTrue();
    } finally {
      stream.stop();
      second.destroyForcibly();
    }
    for (int port : ports.values()) {
      await("port " + port + " released", () -> Ports.isFree(port));
    }
    assertThat(postgresProcesses(data)).as("PostgreSQL processes left").isEmpty();
  }

  /** Sends numbered telemetry records (one in 20 not JSON) at a steady pace until stopped. */
  private static final class TelemetryStream {
    private final KafkaProducer<byte[], byte[]> producer;
    private final AtomicLong sent = new AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;

    TelemetryStream(String bootstrapServers) {
      producer =
          new KafkaProducer<>(
              Map.of(
                  ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                  ProducerConfig.ACKS_CONFIG, "all",
                  // Keeps retrying through the kill and the restart of the embedded Kafka.
                  ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "300000",
                  ProducerConfig.MAX_BLOCK_MS_CONFIG, "300000"),
              new ByteArraySerializer(),
              new ByteArraySerializer());
      thread = new Thread(this::run, "telemetry-stream");
      thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    private void run() {
      String place = UUID.randomUUID().toString();
      List<String> devices = List.of(UUID.randomUUID().toString(), UUID.randomUUID().toString());
      Instant base = Instant.now().minus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);
      for (long seq = 0; running; seq++) {
        String device = devices.get((int) (seq % devices.size()));
        String value =
            seq % 20 == 7
                ? "not json " + seq
                : "{\"place_id\": \""
                    + place
                    + "\", \"device_id\": \""
                    + device
                    + "\", \"payload\": {\"ts\": \""
                    + base.plusMillis(seq)
                    + "\", \"values\": {\"seq\": "
                    + seq
                    + "}}}";
        producer.send(
            new ProducerRecord<>(
                "telemetry.readings",
                device.getBytes(StandardCharsets.UTF_8),
                value.getBytes(StandardCharsets.UTF_8)));
        sent.incrementAndGet();
        try {
          Thread.sleep(2); // about 400 records/s
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    long sent() {
      return sent.get();
    }

    void stop() throws InterruptedException {
      if (running) {
        running = false;
        thread.join();
        producer.close(Duration.ofMinutes(2)); // delivers what is still buffered
      }
    }
  }

  /** A topic's records: the {@code seq} values of valid telemetry, and every bad record's text. */
  private record Topic(List<String> readings, List<String> bad, List<String> all) {}

  private static final Pattern SEQ = Pattern.compile("\"seq\": (\\d+)");

  private static Topic readTopic(String bootstrapServers, String topic) {
    List<String> readings = new ArrayList<>();
    List<String> bad = new ArrayList<>();
    List<String> all = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
        assertThat(System.nanoTime()).as("reading %s", topic).isLessThan(deadline);
        for (var record : consumer.poll(Duration.ofMillis(200))) {
          String value = new String(record.value(), StandardCharsets.UTF_8);
          all.add(value);
          Matcher seq = SEQ.matcher(value);
          if (seq.find()) {
            readings.add(seq.group(1));
          } else {
            bad.add(value);
          }
        }
      }
    }
    return new Topic(readings, bad, all);
  }

  /** The {@code seq} readings in the local stack's PostgreSQL, one entry per row. */
  private static List<String> storedReadings(Map<String, Integer> ports) {
    List<String> values = new ArrayList<>();
    try (Connection connection =
            DriverManager.getConnection(
                "jdbc:postgresql://localhost:" + ports.get("postgres.port") + "/telemetry_db",
                "collector",
                "collector");
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery("SELECT value::bigint FROM readings WHERE key = 'seq'")) {
      while (rows.next()) {
        values.add(Long.toString(rows.getLong(1)));
      }
    } catch (Exception e) {
      return List.of();
    }
    return values;
  }

  /** Waits until the running job completed {@code more} checkpoints (the web UI's REST API). */
  private static void awaitMoreCheckpoints(Map<String, Integer> ports, int more)
      throws InterruptedException {
    long before = completedCheckpoints(ports);
    await(more + " more checkpoints", () -> completedCheckpoints(ports) >= before + more);
  }

  private static long completedCheckpoints(Map<String, Integer> ports) {
    Matcher job = Pattern.compile("\"jid\":\"([0-9a-f]+)\"").matcher(jobsOverview(ports));
    if (!job.find()) {
      return -1;
    }
    Matcher completed =
        Pattern.compile("\"completed\":(\\d+)")
            .matcher(get(ports, "/jobs/" + job.group(1) + "/checkpoints"));
    return completed.find() ? Long.parseLong(completed.group(1)) : -1;
  }

  private static Process startCommand(Path data, Map<String, Integer> ports, Path console)
      throws java.io.IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(LocalStack.class.getName());
    command.add("--data-dir");
    command.add(data.toString());
    command.add("--simulator");
    command.add("false");
    ports.forEach(
        (option, port) -> {
          command.add("--" + option);
          command.add(port.toString());
        });
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(console.toFile())
        .start();
  }

  private static String read(Path console) {
    try {
      return Files.readString(console);
    } catch (Exception e) {
      return "";
    }
  }

  private static List<ProcessHandle> postgresProcesses(Path data) {
    String directory = data.resolve("postgres").toString();
    return ProcessHandle.allProcesses()
        .filter(
            process ->
                process
                        .info()
                        .arguments()
                        .map(args -> String.join(" ", args).contains(directory))
                        .orElse(false)
                    || process
                        .info()
                        .commandLine()
                        .map(line -> line.contains(directory))
                        .orElse(false))
        .toList();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
      Thread.sleep(250);
    }
  }
}
