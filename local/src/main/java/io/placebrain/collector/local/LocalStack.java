package io.placebrain.collector.local;

import io.placebrain.collector.config.DatabaseOptions;
import io.placebrain.collector.config.KafkaOptions;
import io.placebrain.collector.config.MqttOptions;
import io.placebrain.collector.job.CollectorJobConfig;
import io.placebrain.collector.local.embedded.LocalKafka;
import io.placebrain.collector.local.embedded.LocalMqttBroker;
import io.placebrain.collector.local.embedded.LocalPostgres;
import io.placebrain.collector.local.embedded.Ports;
import io.placebrain.collector.local.simulator.TelemetrySimulator;
import io.placebrain.collector.query.QueryService;
import io.placebrain.collector.query.QueryServiceConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole product on one machine: Kafka, PostgreSQL and an MQTT broker (embedded unless an
 * endpoint is configured), the job on a Flink MiniCluster with the web UI, the query service, and
 * the telemetry simulator. Everything stops in reverse order on {@link #close()} (Ctrl-C).
 */
public final class LocalStack implements AutoCloseable {

  private final LocalOptions options;
  private final Deque<AutoCloseable> started = new ArrayDeque<>();
  private String kafka;
  private String databaseUrl;
  private String databaseUser;
  private String databasePassword;
  private String mqtt;
  private LocalFlinkJob job;
  private QueryService queryService;
  private TelemetrySimulator simulator;
  private StatusLine status;

  private LocalStack(LocalOptions options) {
    this.options = options;
  }

  public static void main(String[] args) throws Exception {
    LocalOptions options;
    try {
      options = LocalOptions.from(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Files.createDirectories(options.dataDir().resolve("logs"));
    // Before the first logger exists: the log file lives in the data directory.
    System.setProperty("collector.log.dir", options.dataDir().resolve("logs").toString());
    LocalStack stack = new LocalStack(options);
    CountDownLatch stopped = new CountDownLatch(1);
    // Registered before anything starts: Ctrl-C during start-up stops what has started so far.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("Stopping…");
                  stack.close();
                  System.out.println("Stopped. Data kept in " + options.dataDir());
                  stopped.countDown();
                },
                "local-stack-shutdown"));
    try {
      stack.startAll(System.out);
    } catch (IllegalStateException e) {
      System.err.println(e.getMessage());
      System.exit(1);
    }
    stopped.await();
  }

  /** Starts everything and prints the endpoints; the status line then follows every few seconds. */
  public static LocalStack start(LocalOptions options, PrintStream out) throws Exception {
    LocalStack stack = new LocalStack(options);
    try {
      stack.startAll(out);
      return stack;
    } catch (Exception | Error e) {
      stack.close();
      throw e;
    }
  }

  private static final String LOCK_FILE = "local-run.lock";

  /**
   * One stack per data directory: a second one would take the first one's database for a leftover
   * and stop it. The lock goes with the process, also when it is killed.
   */
  private void lockDataDirectory(Path data) throws IOException {
    java.nio.channels.FileChannel channel =
        java.nio.channels.FileChannel.open(
            data.resolve(LOCK_FILE),
            java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.WRITE);
    if (channel.tryLock() == null) {
      channel.close();
      throw new IllegalStateException(
          "Another local/run uses " + data + "; stop it first, or give this one --data-dir");
    }
    // Released last on close (and by the operating system if the process dies).
    started.push(channel);
  }

  private Logger log() {
    return LoggerFactory.getLogger(LocalStack.class);
  }

  /** Synchronized with {@link #close()}: a stop during start-up waits, then stops everything. */
  private synchronized void startAll(PrintStream out) throws Exception {
    Path data = options.dataDir();
    Files.createDirectories(data);
    lockDataDirectory(data);
    if (options.databaseUrl() == null && !options.wipe()) {
      // A previous run killed without a chance to stop (kill -9, OOM, a closed terminal) leaves
      // its PostgreSQL running on our data directory and port.
      LocalPostgres.stopLeftover(data, out);
    }
    checkPorts();
    if (options.wipe()) {
      wipe(data);
    }
    Files.createDirectories(data);

    kafka = options.kafkaBootstrapServers();
    if (kafka == null) {
      LocalKafka embedded = LocalKafka.start(data, options.bindAddress(), options.kafkaPort());
      started.push(embedded);
      kafka = embedded.bootstrapServers();
    }
    databaseUser = options.databaseUser();
    databasePassword = options.databasePassword();
    databaseUrl = options.databaseUrl();
    if (databaseUrl == null) {
      LocalPostgres embedded =
          LocalPostgres.start(
              data, options.bindAddress(), options.postgresPort(), databaseUser, databasePassword);
      started.push(embedded);
      databaseUrl = embedded.jdbcUrl();
    }
    mqtt = options.mqttServer();
    String mqttVersion = options.mqttVersion();
    if (mqtt == null) {
      LocalMqttBroker embedded =
          LocalMqttBroker.start(data, options.bindAddress(), options.mqttPort());
      started.push(embedded);
      mqtt = embedded.serverUri();
    }

    Map<String, String> shared = new HashMap<>();
    shared.put(KafkaOptions.BOOTSTRAP_SERVERS.key(), kafka);
    shared.put(DatabaseOptions.URL.key(), databaseUrl);
    shared.put(DatabaseOptions.USER.key(), databaseUser == null ? "" : databaseUser);
    shared.put(DatabaseOptions.PASSWORD.key(), databasePassword == null ? "" : databasePassword);
    shared.put(MqttOptions.SERVER.key(), mqtt);
    if (mqttVersion != null) {
      shared.put(MqttOptions.VERSION.key(), mqttVersion);
    }
    CollectorJobConfig jobConfig =
        CollectorJobConfig.from(new String[0], System.getenv()).with(shared);
    Topics.createMissing(kafka, jobConfig);

    job = LocalFlinkJob.start(data, options.bindAddress(), options.webUiPort(), jobConfig);
    started.push(job);
    job.awaitRunning(Duration.ofMinutes(2));

    Map<String, String> service = new HashMap<>(shared);
    service.put("server.port", Integer.toString(options.grpcPort()));
    service.put("server.host", options.bindAddress());
    queryService =
        QueryService.start(QueryServiceConfig.from(new String[0], System.getenv()).with(service));
    started.push(queryService);

    if (options.simulator()) {
      simulator =
          new TelemetrySimulator(
              kafka,
              jobConfig.telemetryTopic(),
              options.simulatorPlaces(),
              options.devicesPerPlace(),
              options.simulatorRate(),
              options.simulatorPeriod());
      started.push(simulator);
      simulator.start(jobConfig.controlTopics().thresholdCreated());
    }

    status =
        new StatusLine(
            databaseUrl,
            databaseUser,
            databasePassword,
            kafka,
            List.of(jobConfig.deadLetterTopic(), jobConfig.controlDeadLetterTopic()));
    started.push(status);
    printEndpoints(out);
    status.start(options.statusInterval(), out);
  }

  private void checkPorts() {
    if (options.kafkaBootstrapServers() == null) {
      Ports.requireFree(options.kafkaPort(), "Kafka", "kafka.port");
    }
    if (options.databaseUrl() == null) {
      Ports.requireFree(options.postgresPort(), "PostgreSQL", "postgres.port");
    }
    if (options.mqttServer() == null) {
      Ports.requireFree(options.mqttPort(), "MQTT broker", "mqtt.port");
    }
    Ports.requireFree(options.grpcPort(), "gRPC query service", "grpc.port");
    Ports.requireFree(options.webUiPort(), "Flink web UI", "web-ui.port");
  }

  private void printEndpoints(PrintStream out) {
    out.println();
    out.println(
        "Collector is running"
            + (job.resumedFrom() == null ? "" : " (resumed from " + job.resumedFrom() + ")"));
    out.println("  Flink web UI     http://localhost:" + options.webUiPort());
    out.println(
        "  gRPC (50054)     localhost:"
            + queryService.port()
            + "   e.g. grpcurl -plaintext localhost:"
            + queryService.port()
            + " list");
    out.println("  Kafka            " + kafka);
    out.println("  PostgreSQL       " + databaseUrl + " (user " + databaseUser + ")");
    out.println("  MQTT             " + mqtt + "   alerts on placebrain/<place_id>/alerts");
    if (simulator != null) {
      TelemetrySimulator.Device first = simulator.devices().get(0);
      out.println(
          "  Simulator        "
              + simulator.devices().size()
              + " devices, "
              + options.simulatorRate()
              + " records/s; e.g. device "
              + first.deviceId()
              + " in place "
              + first.placeId());
    }
    out.println(
        "  Data             " + options.dataDir() + " (logs in logs/; --wipe true starts afresh)");
    out.println("Ctrl-C stops everything.");
    out.println();
  }

  /** The query service's bound port. */
  public int grpcPort() {
    return queryService.port();
  }

  public String databaseUrl() {
    return databaseUrl;
  }

  public String mqttServer() {
    return mqtt;
  }

  public TelemetrySimulator simulator() {
    return simulator;
  }

  StatusLine.Counts counts() throws Exception {
    return status.counts();
  }

  /** Stops everything started, newest first; the job with a savepoint while its services run. */
  @Override
  public synchronized void close() {
    while (!started.isEmpty()) {
      AutoCloseable part = started.pop();
      try {
        part.close();
      } catch (Exception e) {
        log().warn("Stopping {} failed", part.getClass().getSimpleName(), e);
      }
    }
  }

  private static void wipe(Path data) throws IOException {
    if (!Files.exists(data)) {
      return;
    }
    Files.walkFileTree(
        data,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
              throws IOException {
            if (file.getFileName().toString().equals(LOCK_FILE)) {
              return FileVisitResult.CONTINUE; // held by this very run
            }
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path directory, IOException e)
              throws IOException {
            // The logs directory and the lock are in use by this very run.
            if (!directory.endsWith("logs") && !directory.equals(data)) {
              Files.delete(directory);
            }
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
