package io.placebrain.collector.testing.kafka;

import io.placebrain.collector.testing.process.ChildProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;

/**
 * A single-node KRaft Kafka (combined broker and controller) in a JVM of its own, on fixed loopback
 * ports with a log directory of its own, so a test can SIGKILL it the way a crashed broker dies and
 * start it again on the same port with the same data.
 */
public final class KafkaBrokerProcess implements KafkaBroker {

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

  private final Path directory;
  private final Path configFile;
  private final int port;
  private ChildProcess process;
  private int starts;

  private KafkaBrokerProcess(Path directory, int port, int controllerPort) throws IOException {
    this.directory = directory;
    this.port = port;
    this.configFile = directory.resolve("server.properties");
    Properties config = new Properties();
    config.setProperty("process.roles", "broker,controller");
    config.setProperty("node.id", "1");
    config.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    config.setProperty(
        "listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    config.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    config.setProperty("controller.listener.names", "CONTROLLER");
    config.setProperty("inter.broker.listener.name", "PLAINTEXT");
    config.setProperty(
        "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    config.setProperty("log.dirs", directory.resolve("data").toString());
    // One broker: internal topics cannot be replicated, and tests should not wait for
    // consumer-group rebalancing delays (the same settings as the embedded broker).
    config.setProperty("offsets.topic.replication.factor", "1");
    config.setProperty("transaction.state.log.replication.factor", "1");
    config.setProperty("transaction.state.log.min.isr", "1");
    config.setProperty("share.coordinator.state.topic.replication.factor", "1");
    config.setProperty("share.coordinator.state.topic.min.isr", "1");
    config.setProperty("group.initial.rebalance.delay.ms", "0");
    config.setProperty("auto.create.topics.enable", "false");
    config.setProperty("message.max.bytes", String.valueOf(4 * 1024 * 1024));
    try (var out = Files.newOutputStream(configFile)) {
      config.store(out, "Kafka broker of a test");
    }
  }

  /** Formats a fresh log directory and starts the broker on free loopback ports. */
  public static KafkaBrokerProcess launch() {
    try {
      KafkaBrokerProcess broker =
          new KafkaBrokerProcess(
              Files.createTempDirectory("collector-kafka-"), freePort(), freePort());
      broker.format();
      broker.start();
      return broker;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start a Kafka broker process", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while starting a Kafka broker process", e);
    }
  }

  @Override
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  /** SIGKILL of the broker's JVM, as a crashed machine or the OOM killer would stop it. */
  public synchronized void kill() {
    if (process != null) {
      process.kill();
      process = null;
    }
  }

  /** Starts the broker (again) on the same port and data, and waits until it serves metadata. */
  public synchronized void start() throws IOException, InterruptedException {
    if (process != null && process.isAlive()) {
      return;
    }
    starts++;
    List<String> command = java("kafka.Kafka");
    command.add(configFile.toString());
    process =
        ChildProcess.start(
            "Kafka broker", command, Map.of(), directory.resolve("broker-" + starts + ".out"));
    awaitReady(process);
  }

  private void format() throws IOException, InterruptedException {
    List<String> command = java("kafka.tools.StorageTool");
    command.addAll(
        List.of(
            "format",
            "--cluster-id",
            Uuid.randomUuid().toString(),
            "--config",
            configFile.toString()));
    Path output = directory.resolve("format.out");
    Process format =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    if (!format.waitFor(60, TimeUnit.SECONDS) || format.exitValue() != 0) {
      format.destroyForcibly();
      throw new IOException("Formatting Kafka's log directory failed: " + Files.readString(output));
    }
  }

  private void awaitReady(ChildProcess broker) throws InterruptedException {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    try (Admin admin = Admin.create(props)) {
      while (true) {
        if (!broker.isAlive()) {
          throw new IllegalStateException(
              "The Kafka broker exited at start: " + tail(broker.outputText()));
        }
        try {
          if (!admin
              .describeCluster(new DescribeClusterOptions().timeoutMs(2000))
              .nodes()
              .get()
              .isEmpty()) {
            return;
          }
        } catch (java.util.concurrent.ExecutionException notYet) {
          // Not listening or not ready yet: ask again.
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "The Kafka broker was not ready within "
                  + READY_TIMEOUT
                  + ": "
                  + tail(broker.outputText()));
        }
        Thread.sleep(100);
      }
    }
  }

  /** The broker's JVM: the test's own class path, which holds Kafka's server jars. */
  private List<String> java(String mainClass) {
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.add("-Xss1m");
    command.add("-XX:+UseG1GC");
    command.add("-Djava.awt.headless=true");
    command.add("-cp");
    // Failsafe and Surefire start tests with a manifest-only jar; the real path is in this
    // property.
    command.add(
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    command.add(mainClass);
    return command;
  }

  private static String tail(String text) {
    return text.length() <= 4_000 ? text : text.substring(text.length() - 4_000);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (process != null) {
      process.close();
      process = null;
    }
    if (!Files.exists(directory)) {
      return;
    }
    try (Stream<Path> files = Files.walk(directory)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }

  @Override
  public String toString() {
    return "Kafka broker process at " + bootstrapServers() + " (data in " + directory + ")";
  }
}
