package io.placebrain.collector.local.embedded;

import com.hivemq.embedded.EmbeddedHiveMQ;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * An MQTT 5 and 3.1.1 broker (HiveMQ Community Edition, embedded) in this JVM, anonymous access. It
 * answers every common subscriber: MQTT 5 and 3.1.1 clients, a SUBSCRIBE sent right behind CONNECT,
 * an empty client id with a clean start ({@code mosquitto_sub}). It keeps no sessions across
 * restarts: alerts not yet delivered wait in the job's checkpointed state, not in the broker.
 *
 * <p>The broker logs through SLF4J into the stack's log4j2 set-up; its own logback set-up is
 * skipped.
 */
public final class LocalMqttBroker implements AutoCloseable {

  private final EmbeddedHiveMQ server;
  private final String host;
  private final int port;

  private LocalMqttBroker(EmbeddedHiveMQ server, String host, int port) {
    this.server = server;
    this.host = host;
    this.port = port;
  }

  public static LocalMqttBroker start(Path directory, String bindAddress, int port)
      throws IOException {
    Path home = directory.resolve("mqtt");
    Path config = Files.createDirectories(home.resolve("conf"));
    Files.writeString(config.resolve("config.xml"), configXml(bindAddress, port));
    EmbeddedHiveMQ server =
        EmbeddedHiveMQ.builder()
            .withConfigurationFolder(config)
            .withDataFolder(Files.createDirectories(home.resolve("data")))
            .withExtensionsFolder(Files.createDirectories(home.resolve("extensions")))
            .withoutLoggingBootstrap()
            .build();
    try {
      server.start().get(2, TimeUnit.MINUTES);
    } catch (Exception e) {
      try {
        server.close();
      } catch (Exception closing) {
        e.addSuppressed(closing);
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IOException("Could not start the MQTT broker on " + bindAddress + ":" + port, e);
    }
    return new LocalMqttBroker(server, connectHost(bindAddress), port);
  }

  /** In-memory sessions, no usage statistics sent anywhere, one TCP listener. */
  static String configXml(String bindAddress, int port) {
    return """
        <?xml version="1.0"?>
        <hivemq>
          <listeners>
            <tcp-listener>
              <port>%d</port>
              <bind-address>%s</bind-address>
            </tcp-listener>
          </listeners>
          <persistence><mode>in-memory</mode></persistence>
          <anonymous-usage-statistics><enabled>false</enabled></anonymous-usage-statistics>
        </hivemq>
        """
        .formatted(port, bindAddress);
  }

  /** Where clients in this JVM connect: loopback when the broker listens on every interface. */
  private static String connectHost(String bindAddress) {
    return "0.0.0.0".equals(bindAddress) || "::".equals(bindAddress) ? "127.0.0.1" : bindAddress;
  }

  public String serverUri() {
    return "tcp://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  @Override
  public void close() throws Exception {
    server.close();
  }
}
