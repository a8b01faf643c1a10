package io.placebrain.collector.local.embedded;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A single-node Kafka (KRaft, combined broker and controller) in this JVM, keeping its log in the
 * data directory: formatted on first start, reused afterwards.
 */
public final class LocalKafka implements AutoCloseable {

  private final KafkaRaftServer server;
  private final int port;

  private LocalKafka(KafkaRaftServer server, int port) {
    this.server = server;
    this.port = port;
  }

  public static LocalKafka start(Path directory, String bindAddress, int port) throws Exception {
    Path logs = directory.resolve("kafka");
    Files.createDirectories(logs);
    int controllerPort = Ports.free();
    Properties properties = new Properties();
    properties.putAll(
        Map.ofEntries(
            Map.entry("process.roles", "broker,controller"),
            Map.entry("node.id", "1"),
            Map.entry("controller.quorum.voters", "1@localhost:" + controllerPort),
            Map.entry(
                "listeners",
                "PLAINTEXT://"
                    + bindAddress
                    + ":"
                    + port
                    + ",CONTROLLER://localhost:"
                    + controllerPort),
            Map.entry("advertised.listeners", "PLAINTEXT://localhost:" + port),
            Map.entry("controller.listener.names", "CONTROLLER"),
            Map.entry("inter.broker.listener.name", "PLAINTEXT"),
            Map.entry("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"),
            Map.entry("log.dirs", logs.toString()),
            Map.entry("num.partitions", "1"),
            Map.entry("offsets.topic.replication.factor", "1"),
            Map.entry("transaction.state.log.replication.factor", "1"),
            Map.entry("transaction.state.log.min.isr", "1"),
            Map.entry("group.initial.rebalance.delay.ms", "0"),
            Map.entry("auto.create.topics.enable", "false"),
            // Local data is for trying things out: keep a day of it.
            Map.entry("log.retention.hours", "24")));
    if (!Files.exists(logs.resolve("meta.properties"))) {
      format(directory, properties);
    }
    KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(properties, false), Time.SYSTEM);
    server.startup();
    LocalKafka kafka = new LocalKafka(server, port);
    kafka.awaitReady();
    return kafka;
  }

  private static void format(Path directory, Properties properties) throws IOException {
    Path file = directory.resolve("kafka-server.properties");
    try (OutputStream out = Files.newOutputStream(file)) {
      properties.store(out, "written by the local stack to format the log directory");
    }
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    int status =
        StorageTool.execute(
            new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", file.toString()},
            new PrintStream(output, true, StandardCharsets.UTF_8));
    if (status != 0) {
      throw new IllegalStateException(
          "Formatting the Kafka log directory failed: " + output.toString(StandardCharsets.UTF_8));
    }
  }

  private void awaitReady() throws Exception {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
      admin.describeCluster().nodes().get(60, TimeUnit.SECONDS);
    }
  }

  public String bootstrapServers() {
    return "localhost:" + port;
  }

  @Override
  public void close() {
    server.shutdown();
    server.awaitShutdown();
  }
}
