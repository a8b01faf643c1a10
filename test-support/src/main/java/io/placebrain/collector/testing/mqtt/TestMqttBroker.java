package io.placebrain.collector.testing.mqtt;

import io.moquette.broker.Server;
import io.moquette.broker.config.IConfig;
import io.moquette.broker.config.MemoryConfig;
import io.moquette.interception.AbstractInterceptHandler;
import io.moquette.interception.messages.InterceptPublishMessage;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;

/**
 * An MQTT 3.1.1 broker inside the test JVM on a free loopback port. Tests may {@link #stop()} it
 * and {@link #start()} it again on the same port to simulate an outage; sessions do not survive the
 * restart. {@link #published()} lists every message the broker accepted, subscribers or not, so a
 * test can check delivery to the broker without racing a subscriber's reconnection.
 */
public final class TestMqttBroker implements AutoCloseable {

  private final int port;
  private final Path dataDirectory;
  private Server server;
  private final List<Published> published = new ArrayList<>();

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
    started.startServer(new MemoryConfig(properties), List.of(new PublishRecorder()));
    server = started;
  }

  /** A message the broker accepted from a publisher. */
  public record Published(String topic, String payload, String clientId) {}

  /** Every message accepted since the broker first started, in order. */
  public List<Published> published() {
    synchronized (published) {
      return new ArrayList<>(published);
    }
  }

  /** Records each accepted publish; the payload buffer is released by the base class. */
  private final class PublishRecorder extends AbstractInterceptHandler {
    @Override
    public String getID() {
      return "test-publish-recorder";
    }

    @Override
    public void onPublish(InterceptPublishMessage message) {
      ByteBuf payload = message.getPayload();
      byte[] bytes = new byte[payload.readableBytes()];
      payload.getBytes(payload.readerIndex(), bytes);
      published.add(
          new Published(
              message.getTopicName(),
              new String(bytes, StandardCharsets.UTF_8),
              message.getClientID()));
      super.onPublish(message);
    }

    @Override
    public void onSessionLoopError(Throwable error) {}
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
    // The stopped broker releases its store and port asynchronously; retry for a while.
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (server == null) {
      try {
        startServer();
      } catch (IOException | RuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("Could not restart the MQTT broker on port " + port, e);
        }
        try {
          Thread.sleep(200);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(interrupted);
        }
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
