package io.placebrain.collector.testing.mqtt;

import com.hivemq.embedded.EmbeddedExtension;
import com.hivemq.embedded.EmbeddedHiveMQ;
import com.hivemq.extension.sdk.api.ExtensionMain;
import com.hivemq.extension.sdk.api.async.Async;
import com.hivemq.extension.sdk.api.async.TimeoutFallback;
import com.hivemq.extension.sdk.api.auth.SimpleAuthenticator;
import com.hivemq.extension.sdk.api.auth.parameter.SimpleAuthInput;
import com.hivemq.extension.sdk.api.auth.parameter.SimpleAuthOutput;
import com.hivemq.extension.sdk.api.interceptor.publish.PublishInboundInterceptor;
import com.hivemq.extension.sdk.api.interceptor.publish.parameter.PublishInboundInput;
import com.hivemq.extension.sdk.api.interceptor.publish.parameter.PublishInboundOutput;
import com.hivemq.extension.sdk.api.packets.connect.ConnackReasonCode;
import com.hivemq.extension.sdk.api.packets.publish.AckReasonCode;
import com.hivemq.extension.sdk.api.parameter.ExtensionStartInput;
import com.hivemq.extension.sdk.api.parameter.ExtensionStartOutput;
import com.hivemq.extension.sdk.api.parameter.ExtensionStopInput;
import com.hivemq.extension.sdk.api.parameter.ExtensionStopOutput;
import com.hivemq.extension.sdk.api.services.Services;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An MQTT 5 and 3.1.1 broker (HiveMQ Community Edition, embedded) inside the test JVM on a free
 * loopback port, anonymous, sessions in memory. Tests may {@link #stop()} it and {@link #start()}
 * it again on the same port to simulate an outage; sessions do not survive the restart. {@link
 * #published()} lists every message the broker accepted, subscribers or not, so a test can check
 * delivery to the broker without racing a subscriber's reconnection. {@link #refuse} makes the
 * broker refuse publishes to one topic (MQTT 5: a PUBACK with that reason code). A broker launched
 * with {@link Access} wants a user name and password, or TLS, or both.
 *
 * <p>The broker logs through SLF4J like everything else in the test JVM: its own logback set-up is
 * skipped and logback is excluded from the build, so log4j2 stays the only SLF4J backend.
 */
public final class TestMqttBroker implements AutoCloseable {

  private final int port;
  private final Path directory;
  private final Access access;
  private EmbeddedHiveMQ server;
  private final List<Published> published = new ArrayList<>();
  private final List<Published> refusals = new ArrayList<>();
  private final Map<String, AckReasonCode> refused = new ConcurrentHashMap<>();
  private final Set<String> slowTopics = ConcurrentHashMap.newKeySet();
  private final List<Async<PublishInboundOutput>> heldBack = new ArrayList<>();
  private final AtomicInteger refusedLogins = new AtomicInteger();

  private TestMqttBroker(int port, Path directory, Access access) {
    this.port = port;
    this.directory = directory;
    this.access = access;
  }

  /**
   * Who may connect and how: {@code username}/{@code password} null for anonymous access, {@code
   * keyStore} (PKCS12, the server's key and certificate chain) null for plain TCP, else the only
   * listener is TLS.
   */
  public record Access(String username, String password, Path keyStore, String keyStorePassword) {

    public static final Access ANONYMOUS = new Access(null, null, null, null);

    public Access withCredentials(String username, String password) {
      return new Access(username, password, keyStore, keyStorePassword);
    }

    public Access withTls(Path keyStore, String keyStorePassword) {
      return new Access(username, password, keyStore, keyStorePassword);
    }
  }

  public static TestMqttBroker launch() {
    return launch(Access.ANONYMOUS);
  }

  /** A broker of its own, e.g. one that wants credentials or TLS; the test closes it. */
  public static TestMqttBroker launch(Access access) {
    try (ServerSocket socket = new ServerSocket(0)) {
      TestMqttBroker broker =
          new TestMqttBroker(
              socket.getLocalPort(), Files.createTempDirectory("collector-mqtt-"), access);
      socket.close();
      broker.startServer();
      return broker;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start the MQTT broker", e);
    }
  }

  private void startServer() throws IOException {
    Path config = Files.createDirectories(directory.resolve("conf"));
    Files.writeString(
        config.resolve("config.xml"),
        """
        <?xml version="1.0"?>
        <hivemq>
          <listeners>%s</listeners>
          <persistence><mode>in-memory</mode></persistence>
          <anonymous-usage-statistics><enabled>false</enabled></anonymous-usage-statistics>
        </hivemq>
        """
            .formatted(listener()));
    EmbeddedHiveMQ started =
        EmbeddedHiveMQ.builder()
            .withConfigurationFolder(config)
            .withDataFolder(Files.createDirectories(directory.resolve("data")))
            .withExtensionsFolder(Files.createDirectories(directory.resolve("extensions")))
            .withEmbeddedExtension(
                EmbeddedExtension.builder()
                    .withId("collector-test-recorder")
                    .withName("collector test recorder")
                    .withVersion("1")
                    .withExtensionMain(new Recorder())
                    .build())
            .withoutLoggingBootstrap()
            .build();
    try {
      started.start().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      try {
        started.close();
      } catch (Exception closing) {
        e.addSuppressed(closing);
      }
      throw new IOException("Could not start the MQTT broker on port " + port, e);
    }
    server = started;
  }

  private String listener() {
    if (access.keyStore() == null) {
      return "<tcp-listener><port>%d</port><bind-address>127.0.0.1</bind-address></tcp-listener>"
          .formatted(port);
    }
    return """
        <tls-tcp-listener>
          <port>%d</port>
          <bind-address>127.0.0.1</bind-address>
          <tls>
            <keystore>
              <path>%s</path>
              <password>%s</password>
              <private-key-password>%s</private-key-password>
            </keystore>
          </tls>
        </tls-tcp-listener>"""
        .formatted(port, access.keyStore(), access.keyStorePassword(), access.keyStorePassword());
  }

  /** Connections the broker refused for bad credentials, since it first started. */
  public int refusedLogins() {
    return refusedLogins.get();
  }

  /** A message the broker accepted from a publisher. */
  public record Published(String topic, String payload, String clientId) {}

  /** Every message accepted since the broker first started, in order. */
  public List<Published> published() {
    synchronized (published) {
      return new ArrayList<>(published);
    }
  }

  /** Every publish the broker refused (see {@link #refuse}), each attempt, in order. */
  public List<Published> refusals() {
    synchronized (published) {
      return new ArrayList<>(refusals);
    }
  }

  /**
   * From now on the broker refuses every publish to {@code topic} with {@code reasonCode} (e.g.
   * {@code NOT_AUTHORIZED}); MQTT 5 publishers see it in the PUBACK.
   */
  public void refuse(String topic, AckReasonCode reasonCode) {
    refused.put(topic, reasonCode);
  }

  /**
   * From now on the broker holds back its acknowledgement (and the delivery) of every publish to
   * {@code topic} until {@link #releaseAcknowledgements()}: a slow broker. Held publishes are
   * listed in {@link #published()} already.
   */
  public void holdAcknowledgements(String topic) {
    slowTopics.add(topic);
  }

  /** Publishes whose acknowledgement is held back right now. */
  public int heldBack() {
    synchronized (published) {
      return heldBack.size();
    }
  }

  /** Acknowledges every held publish and stops holding any back. */
  public void releaseAcknowledgements() {
    slowTopics.clear();
    List<Async<PublishInboundOutput>> held;
    synchronized (published) {
      held = new ArrayList<>(heldBack);
      heldBack.clear();
    }
    held.forEach(Async::resume);
  }

  /** Accepts publishes to every topic again. */
  public void refuseNothing() {
    refused.clear();
  }

  /**
   * Records each publish the broker accepts, refuses those to a refused topic, and checks
   * credentials if the broker wants them.
   */
  private final class Recorder implements ExtensionMain, PublishInboundInterceptor {

    @Override
    public void extensionStart(ExtensionStartInput input, ExtensionStartOutput output) {
      Services.initializerRegistry()
          .setClientInitializer((client, context) -> context.addPublishInboundInterceptor(this));
      if (access.username() != null) {
        Services.securityRegistry()
            .setAuthenticatorProvider(provider -> (SimpleAuthenticator) this::authenticate);
      }
    }

    private void authenticate(SimpleAuthInput input, SimpleAuthOutput output) {
      String username = input.getConnectPacket().getUserName().orElse(null);
      String password =
          input
              .getConnectPacket()
              .getPassword()
              .map(bytes -> StandardCharsets.UTF_8.decode(bytes.asReadOnlyBuffer()).toString())
              .orElse(null);
      if (access.username().equals(username) && access.password().equals(password)) {
        output.authenticateSuccessfully();
      } else {
        refusedLogins.incrementAndGet();
        output.failAuthentication(ConnackReasonCode.BAD_USER_NAME_OR_PASSWORD, "bad credentials");
      }
    }

    @Override
    public void extensionStop(ExtensionStopInput input, ExtensionStopOutput output) {}

    @Override
    public void onInboundPublish(PublishInboundInput input, PublishInboundOutput output) {
      String topic = input.getPublishPacket().getTopic();
      ByteBuffer payload =
          input.getPublishPacket().getPayload().orElse(ByteBuffer.allocate(0)).asReadOnlyBuffer();
      byte[] bytes = new byte[payload.remaining()];
      payload.get(bytes);
      Published message =
          new Published(
              topic,
              new String(bytes, StandardCharsets.UTF_8),
              input.getClientInformation().getClientId());
      AckReasonCode refusal = refused.get(topic);
      synchronized (published) {
        (refusal == null ? published : refusals).add(message);
        if (refusal == null && slowTopics.contains(topic)) {
          // No PUBACK (and no delivery) until the test releases it.
          heldBack.add(output.async(Duration.ofMinutes(5), TimeoutFallback.SUCCESS));
        }
      }
      if (refusal != null) {
        output.preventPublishDelivery(refusal, "refused by the test");
      }
    }
  }

  public String host() {
    return "127.0.0.1";
  }

  public int port() {
    return port;
  }

  /** The broker's address as a URI, e.g. {@code tcp://127.0.0.1:1883}. */
  public String serverUri() {
    return (access.keyStore() == null ? "tcp://" : "ssl://") + host() + ":" + port;
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  /** Stops the broker: connected clients are dropped and new connections refused. */
  public synchronized void stop() {
    if (server != null) {
      try {
        server.close();
      } catch (Exception e) {
        throw new IllegalStateException("Could not stop the MQTT broker", e);
      } finally {
        server = null;
      }
    }
  }

  /** Starts a stopped broker again on the same port. */
  public synchronized void start() {
    // The stopped broker releases its port asynchronously; retry for a while.
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
    try (var files = Files.walk(directory)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }

  @Override
  public String toString() {
    return "MQTT broker at " + serverUri();
  }
}
