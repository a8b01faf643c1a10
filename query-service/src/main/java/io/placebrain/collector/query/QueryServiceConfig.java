package io.placebrain.collector.query;

import io.placebrain.collector.config.DatabaseOptions;
import io.placebrain.collector.config.KafkaOptions;
import io.placebrain.collector.config.MqttOptions;
import io.placebrain.collector.config.Options;
import io.placebrain.collector.config.Settings;
import io.placebrain.collector.config.StorageOptions;
import io.placebrain.collector.control.ControlTopics;
import io.placebrain.collector.mqtt.MqttSinkSettings;
import io.placebrain.collector.storage.SchemaSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The query service's configuration, read from {@code --key value} flags and {@code COLLECTOR_*}
 * environment variables (flags win). Every setting is listed in {@link #DEFAULTS} and documented in
 * the README; the database, Kafka, MQTT and storage settings are the job's (see {@link #OPTIONS}).
 */
public final class QueryServiceConfig {

  /**
   * Every setting: the database, Kafka, MQTT and storage ones are the definitions shared with the
   * job and the local stack (the README's shared table), the others the service's own (its table,
   * in this order).
   */
  public static final Options OPTIONS =
      Options.builder()
          .own("server.port", "50054")
          .own("server.host", "127.0.0.1")
          .own("server.threads", "32")
          .own("server.shutdown-grace", "10s")
          .own("server.max-inbound-message-size", "1048576")
          .own("server.max-inbound-metadata-size", "8192")
          .own("server.max-concurrent-calls-per-connection", "16")
          .own("server.keepalive-time", "1min")
          .own("server.keepalive-timeout", "20s")
          .own("server.permit-keepalive-time", "20s")
          .own("tls.cert-chain", "")
          .own("tls.private-key", "")
          .own("tls.client-ca", "")
          .ownSecret("auth.read-tokens", "")
          .ownSecret("auth.admin-tokens", "")
          .own("auth.read-tokens-file", "")
          .own("auth.admin-tokens-file", "")
          .own("auth.allow-unauthenticated", "false")
          .add(DatabaseOptions.URL, DatabaseOptions.USER, DatabaseOptions.PASSWORD)
          .own("database.pool-size", "8")
          .own("database.connect-timeout", "5s")
          .own("query.timeout", "30s")
          .own("query.max-concurrent", "4")
          .own("query.max-queued", "16")
          .own("deletion.chunk-rows", "10000")
          .own("deletion.chunk-timeout", "30s")
          .own("deletion.rpc-budget", "20s")
          .add(
              KafkaOptions.BOOTSTRAP_SERVERS,
              // A group of its own: the job's group consumes the same devices topics.
              KafkaOptions.GROUP_ID.withDefault("collector-query-service"),
              KafkaOptions.DEVICE_DELETED_TOPIC,
              KafkaOptions.DEVICES_BULK_DELETED_TOPIC,
              KafkaOptions.ALERT_RESOLVED_TOPIC)
          .add(
              MqttOptions.SERVER,
              // An id of its own: a second client with the job's id would take its session.
              MqttOptions.CLIENT_ID.withDefault("collector-query"),
              MqttOptions.USERNAME,
              MqttOptions.PASSWORD,
              MqttOptions.VERSION,
              // ResolveAlert waits this long for the broker; the job's 0s would never wait.
              MqttOptions.ACK_TIMEOUT.withDefault("5s"),
              MqttOptions.CA_FILE)
          .add(StorageOptions.RETENTION, StorageOptions.COMPRESS_AFTER)
          .build();

  /** Every setting with its default. */
  public static final Map<String, String> DEFAULTS = OPTIONS.defaults();

  private final Settings settings;

  private QueryServiceConfig(Settings settings) {
    this.settings = settings;
    validate();
  }

  /** Defaults, overridden by environment variables, overridden by flags. */
  public static QueryServiceConfig from(String[] args, Map<String, String> environment) {
    return new QueryServiceConfig(OPTIONS.read(args, environment));
  }

  /** A copy with some settings replaced; for tests and the local runner. */
  public QueryServiceConfig with(Map<String, String> overrides) {
    return new QueryServiceConfig(settings.with(overrides));
  }

  private void validate() {
    // Parse everything once so a typo fails at start-up, not on the first request.
    int port = port();
    if (port < 0 || port > 65535) {
      throw settings.invalid("server.port", "a port number (0 picks a free port)");
    }
    if (threads() < 1) {
      throw settings.invalid("server.threads", "a positive number");
    }
    if (poolSize() < 1) {
      throw settings.invalid("database.pool-size", "a positive number");
    }
    if (maxInboundMessageSize() < 1024) {
      throw settings.invalid("server.max-inbound-message-size", "a size in bytes, at least 1024");
    }
    if (maxInboundMetadataSize() < 1024) {
      throw settings.invalid("server.max-inbound-metadata-size", "a size in bytes, at least 1024");
    }
    if (maxConcurrentCallsPerConnection() < 1) {
      throw settings.invalid("server.max-concurrent-calls-per-connection", "a positive number");
    }
    requirePositive("server.keepalive-time", keepAliveTime());
    requirePositive("server.keepalive-timeout", keepAliveTimeout());
    if (permitKeepAliveTime().isNegative()) {
      throw settings.invalid("server.permit-keepalive-time", "a duration, 0 or more");
    }
    if (deletionChunkRows() < 1) {
      throw settings.invalid("deletion.chunk-rows", "a positive number");
    }
    requirePositive("deletion.chunk-timeout", deletionChunkTimeout());
    if (deletionRpcBudget().isNegative()) {
      throw settings.invalid("deletion.rpc-budget", "a duration, 0 or more");
    }
    if (maxConcurrentQueries() < 1) {
      throw settings.invalid("query.max-concurrent", "a positive number");
    }
    if (maxQueuedQueries() < 0) {
      throw settings.invalid("query.max-queued", "0 or more");
    }
    // Every running heavy query holds a connection; two more stay for the light calls and health.
    if (poolSize() < maxConcurrentQueries() + 2) {
      throw new IllegalArgumentException(
          "database.pool-size ("
              + poolSize()
              + ") must be at least query.max-concurrent ("
              + maxConcurrentQueries()
              + ") + 2, so light calls always find a connection");
    }
    // A queued heavy call waits on a call thread; some threads must stay free for light calls.
    if (threads() < maxConcurrentQueries() + maxQueuedQueries() + 2) {
      throw new IllegalArgumentException(
          "server.threads ("
              + threads()
              + ") must be at least query.max-concurrent + query.max-queued + 2 ("
              + (maxConcurrentQueries() + maxQueuedQueries() + 2)
              + "), so waiting heavy calls cannot take every thread");
    }
    shutdownGrace();
    connectTimeout();
    queryTimeout();
    schemaSettings();
    MqttSinkSettings mqtt = mqttSettings();
    if (mqtt != null) {
      mqtt.trustManagerFactory(); // a wrong CA file fails the start, not the first resolve
    }
    if ((tlsCertChain() == null) != (tlsPrivateKey() == null)) {
      throw new IllegalArgumentException(
          "TLS needs both tls.cert-chain and tls.private-key (PEM files), or neither");
    }
    if (tlsClientCa() != null && tlsCertChain() == null) {
      throw new IllegalArgumentException(
          "tls.client-ca (mutual TLS) needs TLS on: set tls.cert-chain and tls.private-key too");
    }
    List<String> read = readTokens();
    List<String> admin = adminTokens();
    for (String token : read) {
      if (admin.contains(token)) {
        throw new IllegalArgumentException(
            "the same token is listed in auth.read-tokens and auth.admin-tokens; give each role its"
                + " own tokens");
      }
    }
    boolean authenticated = !read.isEmpty() || !admin.isEmpty() || tlsClientCa() != null;
    if (!authenticated && !isLoopback() && !allowUnauthenticated()) {
      throw new IllegalArgumentException(
          "server.host "
              + host()
              + " is reachable beyond this machine, and no client would need to authenticate:"
              + " set auth.read-tokens and auth.admin-tokens (or their -file settings), or"
              + " tls.client-ca for mutual TLS, or set auth.allow-unauthenticated=true if the"
              + " network itself keeps the service internal");
    }
  }

  /** A bearer token: at least 16 characters from the base64/URL-safe alphabet. */
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9._~+/=-]{16,}");

  private List<String> tokens(String inlineKey, String fileKey) {
    List<String> tokens = new ArrayList<>();
    String inline = settings.optional(inlineKey);
    if (inline != null) {
      for (String token : inline.split(",")) {
        if (!token.isBlank()) {
          tokens.add(checkedToken(token.trim(), inlineKey));
        }
      }
    }
    String file = settings.optional(fileKey);
    if (file != null) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of(file), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalArgumentException(fileKey + ": cannot read " + file + ": " + e, e);
      }
      for (String line : lines) {
        String token = line.strip();
        if (!token.isEmpty() && !token.startsWith("#")) {
          tokens.add(checkedToken(token, fileKey));
        }
      }
    }
    return List.copyOf(tokens);
  }

  private static String checkedToken(String token, String key) {
    if (!TOKEN.matcher(token).matches()) {
      // The token itself is a secret: never echo it.
      throw new IllegalArgumentException(
          key
              + " holds a token that is not at least 16 characters of A-Z a-z 0-9 . _ ~ + / = -"
              + " (e.g. openssl rand -hex 32)");
    }
    return token;
  }

  public int port() {
    return settings.integer("server.port");
  }

  /** The address to bind; 127.0.0.1 unless changed. */
  public String host() {
    return settings.get("server.host");
  }

  /** Whether {@link #host()} is a loopback address, reachable only from this machine. */
  public boolean isLoopback() {
    try {
      return InetAddress.getByName(host()).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** Tokens that may call the read RPCs: {@code auth.read-tokens} and the lines of its file. */
  public List<String> readTokens() {
    return tokens("auth.read-tokens", "auth.read-tokens-file");
  }

  /** Tokens that may call every RPC, DeleteReadings and ResolveAlert included. */
  public List<String> adminTokens() {
    return tokens("auth.admin-tokens", "auth.admin-tokens-file");
  }

  /** Whether the service may serve beyond loopback with nobody authenticating. */
  public boolean allowUnauthenticated() {
    return settings.bool("auth.allow-unauthenticated");
  }

  /** PEM CA certificates that client certificates must chain to; null: no mutual TLS. */
  public Path tlsClientCa() {
    String value = settings.optional("tls.client-ca");
    return value == null ? null : Path.of(value);
  }

  /** Threads serving calls; each holds a database connection while its query runs. */
  public int threads() {
    return settings.integer("server.threads");
  }

  /** The largest request message accepted, in bytes; larger ones fail RESOURCE_EXHAUSTED. */
  public int maxInboundMessageSize() {
    return settings.integer("server.max-inbound-message-size");
  }

  /** The largest request metadata (headers) accepted, in bytes. */
  public int maxInboundMetadataSize() {
    return settings.integer("server.max-inbound-metadata-size");
  }

  /** HTTP/2 streams one connection may have open; further calls wait in the client. */
  public int maxConcurrentCallsPerConnection() {
    return settings.integer("server.max-concurrent-calls-per-connection");
  }

  /** How long a connection may be idle before the server pings it to check the client is alive. */
  public Duration keepAliveTime() {
    return settings.duration("server.keepalive-time");
  }

  /** How long the server waits for that ping's answer before closing the connection. */
  public Duration keepAliveTimeout() {
    return settings.duration("server.keepalive-timeout");
  }

  /**
   * The shortest interval at which a client may send keepalive pings (only while it has calls
   * running); a client pinging more often is disconnected with GOAWAY ENHANCE_YOUR_CALM.
   */
  public Duration permitKeepAliveTime() {
    return settings.duration("server.permit-keepalive-time");
  }

  /** Heavy queries (readings ranges, aggregates, alert pages and counts) running at once. */
  public int maxConcurrentQueries() {
    return settings.integer("query.max-concurrent");
  }

  /** Heavy calls that may wait for a slot; further ones fail RESOURCE_EXHAUSTED at once. */
  public int maxQueuedQueries() {
    return settings.integer("query.max-queued");
  }

  private void requirePositive(String key, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw settings.invalid(key, "a positive duration");
    }
  }

  public Duration shutdownGrace() {
    return settings.duration("server.shutdown-grace");
  }

  /** PEM certificate chain; null when TLS is off. */
  public Path tlsCertChain() {
    String value = settings.optional("tls.cert-chain");
    return value == null ? null : Path.of(value);
  }

  /** PEM PKCS#8 private key; null when TLS is off. */
  public Path tlsPrivateKey() {
    String value = settings.optional("tls.private-key");
    return value == null ? null : Path.of(value);
  }

  public String databaseUrl() {
    return DatabaseOptions.url(settings);
  }

  /** Null when empty: the driver then takes the user from the URL. */
  public String databaseUser() {
    return DatabaseOptions.user(settings);
  }

  public String databasePassword() {
    return DatabaseOptions.password(settings);
  }

  public int poolSize() {
    return settings.integer("database.pool-size");
  }

  public Duration connectTimeout() {
    return settings.duration("database.connect-timeout");
  }

  /** The longest a query may run when the client sets no shorter deadline. */
  public Duration queryTimeout() {
    return settings.duration("query.timeout");
  }

  /** Rows one deletion chunk (one short transaction) removes at most. */
  public int deletionChunkRows() {
    return settings.integer("deletion.chunk-rows");
  }

  /** Statement timeout of each deletion chunk. */
  public Duration deletionChunkTimeout() {
    return settings.duration("deletion.chunk-timeout");
  }

  /** How long DeleteReadings waits for its deletion before answering that it continues. */
  public Duration deletionRpcBudget() {
    return settings.duration("deletion.rpc-budget");
  }

  /** Null when empty: device deletions then come only through the DeleteReadings call. */
  public String kafkaBootstrapServers() {
    return settings.optional(KafkaOptions.BOOTSTRAP_SERVERS.key());
  }

  public String kafkaGroupId() {
    return settings.get(KafkaOptions.GROUP_ID.key());
  }

  /** The deletion topics; the threshold topics are the job's business. */
  public ControlTopics deletionTopics() {
    return new ControlTopics(
        ControlTopics.DEFAULTS.thresholdCreated(),
        ControlTopics.DEFAULTS.thresholdDeleted(),
        settings.get(KafkaOptions.DEVICE_DELETED_TOPIC.key()),
        settings.get(KafkaOptions.DEVICES_BULK_DELETED_TOPIC.key()),
        alertResolvedTopic());
  }

  /** Where a user's resolve is announced to the job (compacted; see README "Topics"). */
  public String alertResolvedTopic() {
    return settings.get(KafkaOptions.ALERT_RESOLVED_TOPIC.key());
  }

  /** Null when {@code mqtt.server} is empty: resolving then publishes nothing. */
  public MqttSinkSettings mqttSettings() {
    if (settings.optional(MqttOptions.SERVER.key()) == null) {
      return null;
    }
    // One pending message: the outbox table, not the publisher, keeps what waits for the broker.
    return MqttOptions.connection(settings, 1);
  }

  public Duration mqttAckTimeout() {
    return settings.duration(MqttOptions.ACK_TIMEOUT.key());
  }

  public SchemaSettings schemaSettings() {
    return new SchemaSettings(
        StorageOptions.retention(settings),
        StorageOptions.compressAfter(settings),
        SchemaSettings.DEFAULTS.partitionsAhead());
  }

  @Override
  public String toString() {
    return settings.toString();
  }
}
