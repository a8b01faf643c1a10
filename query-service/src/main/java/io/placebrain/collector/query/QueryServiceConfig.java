package io.placebrain.collector.query;

import io.placebrain.collector.config.Settings;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The query service's configuration, read from {@code --key value} flags and {@code COLLECTOR_*}
 * environment variables (flags win). Every setting is listed in {@link #DEFAULTS} and documented in
 * the README; the database, Kafka and MQTT settings share their names with the job's.
 */
public final class QueryServiceConfig {

  /** Every setting with its default, in the order the README lists them. */
  public static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put("server.port", "50054");
    DEFAULTS.put("server.host", "127.0.0.1");
    DEFAULTS.put("server.threads", "32");
    DEFAULTS.put("server.shutdown-grace", "10s");
    DEFAULTS.put("server.max-inbound-message-size", "1048576");
    DEFAULTS.put("server.max-inbound-metadata-size", "8192");
    DEFAULTS.put("server.max-concurrent-calls-per-connection", "16");
    DEFAULTS.put("server.keepalive-time", "1min");
    DEFAULTS.put("server.keepalive-timeout", "20s");
    DEFAULTS.put("server.permit-keepalive-time", "20s");
    DEFAULTS.put("tls.cert-chain", "");
    DEFAULTS.put("tls.private-key", "");
    DEFAULTS.put("tls.client-ca", "");
    DEFAULTS.put("auth.read-tokens", "");
    DEFAULTS.put("auth.admin-tokens", "");
    DEFAULTS.put("auth.read-tokens-file", "");
    DEFAULTS.put("auth.admin-tokens-file", "");
    DEFAULTS.put("auth.allow-unauthenticated", "false");
    DEFAULTS.put("database.url", "jdbc:postgresql://localhost:5432/telemetry_db");
    DEFAULTS.put("database.user", "collector");
    DEFAULTS.put("database.password", "collector");
    DEFAULTS.put("database.pool-size", "8");
    DEFAULTS.put("database.connect-timeout", "5s");
    DEFAULTS.put("query.timeout", "30s");
    DEFAULTS.put("query.max-concurrent", "4");
    DEFAULTS.put("query.max-queued", "16");
    DEFAULTS.put("deletion.chunk-rows", "10000");
    DEFAULTS.put("deletion.chunk-timeout", "30s");
    DEFAULTS.put("deletion.rpc-budget", "20s");
    DEFAULTS.put("kafka.bootstrap-servers", "localhost:9092");
    DEFAULTS.put("kafka.group-id", "collector-query-service");
    DEFAULTS.put("kafka.device-deleted-topic", "devices.device.deleted");
    DEFAULTS.put("kafka.devices-bulk-deleted-topic", "devices.device.bulk-deleted");
    DEFAULTS.put("kafka.alert-resolved-topic", ControlTopics.ALERT_RESOLVED_DEFAULT);
    DEFAULTS.put("mqtt.server", "tcp://localhost:1883");
    DEFAULTS.put("mqtt.client-id", "collector-query");
    DEFAULTS.put("mqtt.username", "");
    DEFAULTS.put("mqtt.password", "");
    DEFAULTS.put("mqtt.version", "5");
    DEFAULTS.put("mqtt.ack-timeout", "5s");
    DEFAULTS.put("storage.retention", "90d");
    DEFAULTS.put("storage.compress-after", "7d");
  }

  private final Settings settings;

  private QueryServiceConfig(Settings settings) {
    this.settings = settings;
    validate();
  }

  /** Defaults, overridden by environment variables, overridden by flags. */
  public static QueryServiceConfig from(String[] args, Map<String, String> environment) {
    return new QueryServiceConfig(
        Settings.read(
            DEFAULTS,
            Set.of("database.password", "mqtt.password", "auth.read-tokens", "auth.admin-tokens"),
            args,
            environment));
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
    mqttSettings();
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
    return settings.get("database.url");
  }

  /** Null when empty: the driver then takes the user from the URL. */
  public String databaseUser() {
    return settings.optional("database.user");
  }

  public String databasePassword() {
    return settings.optional("database.password");
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
    return settings.optional("kafka.bootstrap-servers");
  }

  public String kafkaGroupId() {
    return settings.get("kafka.group-id");
  }

  /** The deletion topics; the threshold topics are the job's business. */
  public ControlTopics deletionTopics() {
    return new ControlTopics(
        ControlTopics.DEFAULTS.thresholdCreated(),
        ControlTopics.DEFAULTS.thresholdDeleted(),
        settings.get("kafka.device-deleted-topic"),
        settings.get("kafka.devices-bulk-deleted-topic"),
        alertResolvedTopic());
  }

  /** Where a user's resolve is announced to the job (compacted; see README "Topics"). */
  public String alertResolvedTopic() {
    return settings.get("kafka.alert-resolved-topic");
  }

  /** Null when {@code mqtt.server} is empty: resolving then publishes nothing. */
  public MqttSinkSettings mqttSettings() {
    if (settings.optional("mqtt.server") == null) {
      return null;
    }
    return new MqttSinkSettings(
        settings.get("mqtt.server"),
        settings.get("mqtt.client-id"),
        settings.optional("mqtt.username"),
        settings.optional("mqtt.password"),
        settings.get("mqtt.version"),
        1,
        mqttAckTimeout());
  }

  public Duration mqttAckTimeout() {
    return settings.duration("mqtt.ack-timeout");
  }

  public SchemaSettings schemaSettings() {
    return new SchemaSettings(
        settings.duration("storage.retention"),
        settings.duration("storage.compress-after"),
        SchemaSettings.DEFAULTS.partitionsAhead());
  }

  @Override
  public String toString() {
    return settings.toString();
  }
}
