package io.placebrain.collector.testing.mqtt;

import io.moquette.broker.Server;
import io.moquette.broker.config.IConfig;
import io.moquette.broker.config.MemoryConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Properties;

/**
 * An MQTT 3.1.1 broker inside the test JVM on a free loopback port. Tests may {@link #stop()} it
 * and {@link #start()} it again on the same port to simulate an outage; sessions and queued
 * messages do not survive a restart, as with a broker without persistence.
 */
public final class TestMqttBroker implements AutoCloseable {

  private final int port;
  private final Path dataDirectory;
  private Server server;

  private TestMqttBroker(int port, Path dataDirectory) {
    this.port = port;
    this.dataDirectory = dataDirectory;
  }

  public static TestMqttBroker launch() {
    try (ServerSocket socket = new ServerSocket(0)) {
      TestMqttBroker broker =
          new TestMqttBroker(socket.getLocalPort(), Files.createTempDirectory("collector-mqtt-"));
      socket.close();
      broker.startServer();
      return broker;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start the MQTT broker", e);
    }
  }

  private void startServer() throws IOException {
    Properties properties = new Properties();
    properties.setProperty(IConfig.HOST_PROPERTY_NAME, "127.0.0.1");
    properties.setProperty(IConfig.PORT_PROPERTY_NAME, String.valueOf(port));
    properties.setProperty(IConfig.ALLOW_ANONYMOUS_PROPERTY_NAME, "true");
    properties.setProperty(IConfig.PERSISTENCE_ENABLED_PROPERTY_NAME, "false");
    properties.setProperty(IConfig.DATA_PATH_PROPERTY_NAME, dataDirectory.toString());
    properties.setProperty(IConfig.ENABLE_TELEMETRY_NAME, "false");
    Server started = new Server();
    started.startServer(new MemoryConfig(properties));
    server = started;
  }

  public String host() {
    return "127.0.0.1";
  }

  public int port() {
    return port;
  }

  /** The broker's address as a URI, e.g. {@code tcp://127.0.0.1:1883}. */
  public String serverUri() {
    return "tcp://" + host() + ":" + port;
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  /** Stops the broker: connected clients are dropped and new connections refused. */
  public synchronized void stop() {
    if (server != null) {
      server.stopServer();
      server = null;
    }
  }

  /** Starts a stopped broker again on the same port. */
  public synchronized void start() {
    if (server == null) {
      try {
        startServer();
      } catch (IOException e) {
        throw new UncheckedIOException("Could not restart the MQTT broker on port " + port, e);
      }
    }
  }

  @Override
  public synchronized void close() throws IOException {
    stop();
    try (var files = Files.walk(dataDirectory)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }

  @Override
  public String toString() {
    return "MQTT broker at " + serverUri();
  }
}
