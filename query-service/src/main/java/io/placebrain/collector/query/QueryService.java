package io.placebrain.collector.query;

import com.zaxxer.hikari.HikariDataSource;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.placebrain.collector.mqtt.HiveMqPublisher;
import io.placebrain.collector.mqtt.MqttSinkSettings;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.query.alerts.AlertEventPublisher;
import io.placebrain.collector.query.alerts.AlertOutbox;
import io.placebrain.collector.query.alerts.AlertResolver;
import io.placebrain.collector.query.alerts.AlertsStore;
import io.placebrain.collector.query.alerts.ResolvedAlertProducer;
import io.placebrain.collector.query.auth.AccessControl;
import io.placebrain.collector.query.deletion.DeviceDeleter;
import io.placebrain.collector.query.deletion.DeviceDeletionListener;
import io.placebrain.collector.query.grpc.CollectorGrpcService;
import io.placebrain.collector.query.internal.Database;
import io.placebrain.collector.query.internal.HeavyQueries;
import io.placebrain.collector.query.readings.ReadingsQueries;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.StorageMode;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC query service: {@code collector.CollectorService} with health checking and server
 * reflection, the device-deletion listener, and the publishers of users' resolves (MQTT events, and
 * the resolved-alerts topic the job reads).
 */
public final class QueryService implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(QueryService.class);
  private static final String SERVICE_NAME = CollectorServiceGrpc.SERVICE_NAME;

  private final QueryServiceConfig config;
  private final Database database;
  private final AlertEventPublisher publisher;
  private final DeviceDeletionListener deletions;
  private final HealthStatusManager health;
  private final ScheduledExecutorService healthChecks;
  private final ExecutorService callExecutor;
  private final Server server;
  private final HeavyQueries heavy;
  private final DeviceDeleter deleter;
  private final AlertOutbox outbox;
  private final ResolvedAlertProducer resolvedProducer;
  private final AlertOutbox resolvedOutbox;

  private QueryService(
      QueryServiceConfig config,
      Database database,
      AlertEventPublisher publisher,
      DeviceDeletionListener deletions,
      HealthStatusManager health,
      ScheduledExecutorService healthChecks,
      ExecutorService callExecutor,
      Server server,
      HeavyQueries heavy,
      DeviceDeleter deleter,
      AlertOutbox outbox,
      ResolvedAlertProducer resolvedProducer,
      AlertOutbox resolvedOutbox) {
    this.config = config;
    this.database = database;
    this.publisher = publisher;
    this.deletions = deletions;
    this.health = health;
    this.healthChecks = healthChecks;
    this.callExecutor = callExecutor;
    this.server = server;
    this.heavy = heavy;
    this.deleter = deleter;
    this.outbox = outbox;
    this.resolvedProducer = resolvedProducer;
    this.resolvedOutbox = resolvedOutbox;
  }

  public static void main(String[] args) throws Exception {
    QueryServiceConfig config = QueryServiceConfig.from(args, System.getenv());
    QueryService service = start(config);
    Runtime.getRuntime().addShutdownHook(new Thread(service::close, "query-service-shutdown"));
    service.server.awaitTermination();
  }

  /**
   * Waits for the database, creates or upgrades the schema, then serves. Returns once the port is
   * bound; fails with the setting to change when it is taken.
   */
  public static QueryService start(QueryServiceConfig config)
      throws IOException, InterruptedException {
    LOG.info("Starting the query service with {}", config);
    if (config.tlsCertChain() == null
        && !config.isLoopback()
        && !(config.readTokens().isEmpty() && config.adminTokens().isEmpty())) {
      LOG.warn(
          "Bearer tokens travel in plaintext on {}: only safe on a private network; set"
              + " tls.cert-chain and tls.private-key otherwise",
          config.host());
    }
    HikariDataSource pool =
        Database.pool(
            config.databaseUrl(),
            config.databaseUser(),
            config.databasePassword(),
            config.poolSize(),
            config.connectTimeout());
    Database database = new Database(pool, config.queryTimeout());
    StorageMode mode;
    try {
      mode = migrate(pool, config);
    } catch (InterruptedException | RuntimeException e) {
      pool.close();
      throw e;
    }

    MqttSinkSettings mqtt = config.mqttSettings();
    AlertEventPublisher publisher =
        new AlertEventPublisher(
            // A client id of its own per process: several instances may drain the outbox, and
            // two clients with one id take the broker session from each other.
            mqtt == null
                ? null
                : new HiveMqPublisher(
                    mqtt, java.util.concurrent.ThreadLocalRandom.current().nextInt(1 << 30)),
            mqtt == null ? "(none)" : mqtt.serverUri(),
            config.mqttAckTimeout());
    AlertsStore alerts = new AlertsStore();
    AlertOutbox outbox =
        new AlertOutbox(pool, CollectorSchema.ALERT_EVENTS_OUTBOX, false, publisher);
    ResolvedAlertProducer resolvedProducer =
        new ResolvedAlertProducer(
            config.kafkaBootstrapServers(),
            config.kafkaGroupId() + "-resolves",
            config.mqttAckTimeout());
    AlertOutbox resolvedOutbox =
        new AlertOutbox(pool, CollectorSchema.ALERT_RESOLVED_OUTBOX, true, resolvedProducer);
    HeavyQueries heavy =
        new HeavyQueries(
            config.maxConcurrentQueries(), config.maxQueuedQueries(), config.queryTimeout());
    DeviceDeleter deleter =
        new DeviceDeleter(pool, config.deletionChunkRows(), config.deletionChunkTimeout());
    CollectorGrpcService service =
        new CollectorGrpcService(
            database,
            heavy,
            new ReadingsQueries(mode),
            alerts,
            new AlertResolver(
                database,
                alerts,
                outbox,
                resolvedOutbox,
                config.alertResolvedTopic(),
                config.mqttAckTimeout()),
            deleter,
            config.deletionRpcBudget());

    HealthStatusManager health = new HealthStatusManager();
    ExecutorService callExecutor =
        Executors.newFixedThreadPool(config.threads(), threads("grpc-call"));
    Server server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress(config.host(), config.port()), credentials(config))
            .executor(callExecutor)
            // One greedy client: bounded requests, streams per connection and keepalive pings.
            .maxInboundMessageSize(config.maxInboundMessageSize())
            .maxInboundMetadataSize(config.maxInboundMetadataSize())
            .maxConcurrentCallsPerConnection(config.maxConcurrentCallsPerConnection())
            .keepAliveTime(config.keepAliveTime().toMillis(), TimeUnit.MILLISECONDS)
            .keepAliveTimeout(config.keepAliveTimeout().toMillis(), TimeUnit.MILLISECONDS)
            .permitKeepAliveTime(config.permitKeepAliveTime().toMillis(), TimeUnit.MILLISECONDS)
            .permitKeepAliveWithoutCalls(false)
            .addService(accessControlled(service, config))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            .addService(reflectionV1Alpha())
            .build();
    try {
      server.start();
    } catch (IOException e) {
      callExecutor.shutdownNow();
      deleter.close();
      publisher.close();
      resolvedProducer.close();
      pool.close();
      if (isPortTaken(e)) {
        throw new IOException(
            "Port "
                + config.port()
                + " on "
                + config.host()
                + " is already in use; choose another with --server.port (or COLLECTOR_SERVER_PORT)",
            e);
      }
      throw e;
    }

    DeviceDeletionListener deletions = null;
    if (config.kafkaBootstrapServers() != null) {
      deletions =
          new DeviceDeletionListener(
              config.kafkaBootstrapServers(),
              config.kafkaGroupId(),
              config.deletionTopics(),
              deleter);
      deletions.start();
    }

    outbox.start();
    resolvedOutbox.start();
    ScheduledExecutorService healthChecks =
        Executors.newSingleThreadScheduledExecutor(threads("health-check"));
    health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
    healthChecks.scheduleWithFixedDelay(
        () -> {
          ServingStatus status =
              database.isReachable() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
          health.setStatus("", status);
          health.setStatus(SERVICE_NAME, status);
        },
        5,
        5,
        TimeUnit.SECONDS);

    LOG.info(
        "Query service ready on {}:{} ({}, {}, readings stored as {}, MQTT {}, device deletions"
            + " {})",
        config.host(),
        server.getPort(),
        config.tlsCertChain() == null
            ? "plaintext"
            : config.tlsClientCa() == null ? "TLS" : "mutual TLS",
        access(config),
        mode,
        mqtt == null ? "off" : mqtt.serverUri(),
        deletions == null ? "off" : "from " + config.kafkaBootstrapServers());
    return new QueryService(
        config,
        database,
        publisher,
        deletions,
        health,
        healthChecks,
        callExecutor,
        server,
        heavy,
        deleter,
        outbox,
        resolvedProducer,
        resolvedOutbox);
  }

  private static boolean isPortTaken(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof BindException
          || String.valueOf(cause.getMessage()).contains("Address already in use")) {
        return true;
      }
    }
    return false;
  }

  @SuppressWarnings("deprecation")
  private static io.grpc.BindableService reflectionV1Alpha() {
    // Older grpcurl and IDE clients still ask the v1alpha reflection service.
    return ProtoReflectionService.newInstance();
  }

  private static ServerCredentials credentials(QueryServiceConfig config) throws IOException {
    if (config.tlsCertChain() == null) {
      return InsecureServerCredentials.create();
    }
    TlsServerCredentials.Builder tls =
        TlsServerCredentials.newBuilder()
            .keyManager(config.tlsCertChain().toFile(), config.tlsPrivateKey().toFile());
    if (config.tlsClientCa() != null) {
      // Mutual TLS: a client without a certificate from this CA cannot even connect.
      tls.trustManager(config.tlsClientCa().toFile())
          .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
    }
    return tls.build();
  }

  /**
   * The collector service behind bearer-token checks when tokens are configured; health checking
   * and reflection are added beside it, unchecked.
   */
  private static ServerServiceDefinition accessControlled(
      CollectorGrpcService service, QueryServiceConfig config) {
    List<String> read = config.readTokens();
    List<String> admin = config.adminTokens();
    if (read.isEmpty() && admin.isEmpty()) {
      return service.bindService();
    }
    return ServerInterceptors.intercept(service, new AccessControl(read, admin));
  }

  private static String access(QueryServiceConfig config) {
    List<String> parts = new ArrayList<>();
    if (!config.readTokens().isEmpty() || !config.adminTokens().isEmpty()) {
      parts.add(
          config.readTokens().size()
              + " read and "
              + config.adminTokens().size()
              + " admin token(s)");
    }
    if (config.tlsClientCa() != null) {
      parts.add("client certificates from " + config.tlsClientCa());
    }
    return parts.isEmpty() ? "no authentication" : String.join(" and ", parts);
  }

  /** Retries until the database answers: the service may start before it. */
  private static StorageMode migrate(HikariDataSource pool, QueryServiceConfig config)
      throws InterruptedException {
    Duration wait = Duration.ofMillis(500);
    while (true) {
      try (Connection connection = pool.getConnection()) {
        connection.setAutoCommit(true);
        // The outbox tables are the schema's: a database an earlier service created them in
        // already has the MQTT one, of the same shape.
        return CollectorSchema.migrate(connection, config.schemaSettings());
      } catch (SQLException e) {
        LOG.warn(
            "Database {} not ready ({}); retrying in {} ms",
            config.databaseUrl(),
            e.getMessage(),
            wait.toMillis());
        Thread.sleep(wait.toMillis());
        wait =
            wait.multipliedBy(2).compareTo(Duration.ofSeconds(10)) > 0
                ? Duration.ofSeconds(10)
                : wait.multipliedBy(2);
      }
    }
  }

  private static java.util.concurrent.ThreadFactory threads(String name) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** The bound on heavy queries, for tests. */
  HeavyQueries heavyQueries() {
    return heavy;
  }

  /** The bound port (useful with {@code server.port = 0}). */
  public int port() {
    return server.getPort();
  }

  /** Stops taking calls, lets running ones finish within {@code server.shutdown-grace}, closes. */
  @Override
  public void close() {
    if (server.isTerminated()) {
      return;
    }
    LOG.info("Query service stopping");
    health.enterTerminalState();
    healthChecks.shutdownNow();
    server.shutdown();
    try {
      if (!server.awaitTermination(config.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS)) {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
      if (deletions != null) {
        deletions.close();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    callExecutor.shutdownNow();
    deleter.close();
    outbox.close();
    resolvedOutbox.close();
    publisher.close();
    resolvedProducer.close();
    database.close();
    LOG.info("Query service stopped");
  }
}
