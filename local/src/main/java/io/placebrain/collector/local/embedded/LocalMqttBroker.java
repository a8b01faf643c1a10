package io.placebrain.collector.local.embedded;

import io.moquette.broker.Server;
import io.moquette.broker.config.IConfig;
import io.moquette.broker.config.MemoryConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

/**
 * An MQTT 3.1.1 broker (Moquette) in this JVM, anonymous access. It keeps no sessions across
 * restarts: alerts not yet delivered wait in the job's checkpointed state, not in the broker.
 */
public final class LocalMqttBroker implements AutoCloseable {

  private final Server server;
  private final int port;

  private LocalMqttBroker(Server server, int port) {
    this.server = server;
    this.port = port;
  }

  public static LocalMqttBroker start(Path directory, String bindAddress, int port)
      throws IOException {
    Path data = directory.resolve("mqtt");
    Files.createDirectories(data);
    Properties properties = new Properties();
    properties.setProperty(IConfig.HOST_PROPERTY_NAME, bindAddress);
    properties.setProperty(IConfig.PORT_PROPERTY_NAME, String.valueOf(port));
    properties.setProperty(IConfig.ALLOW_ANONYMOUS_PROPERTY_NAME, "true");
    properties.setProperty(IConfig.PERSISTENCE_ENABLED_PROPERTY_NAME, "false");
    properties.setProperty(IConfig.DATA_PATH_PROPERTY_NAME, data.toString());
    properties.setProperty(IConfig.ENABLE_TELEMETRY_NAME, "false");
    Server server = new Server();
    server.startServer(new MemoryConfig(properties), List.of());
    return new LocalMqttBroker(server, port);
  }

  public String serverUri() {
    return "tcp://localhost:" + port;
  }

  @Override
  public void close() {
    server.stopServer();
  }
}
