package io.placebrain.collector.startup;

import io.placebrain.collector.job.CollectorJobConfig;
import io.placebrain.collector.job.RequiredTopics;
import io.placebrain.collector.lifecycle.LibraryRelease;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Checks, before the job is submitted, what would otherwise only show as a task restarting over and
 * over with the real cause in another system's log: the database refusing the credentials or
 * missing a setting, Kafka topics that do not exist, an MQTT broker nobody listens for. Each
 * problem becomes one sentence that says what to fix; all of them are reported at once.
 */
public final class StartupChecks {

  private final CollectorJobConfig config;
  private final Duration timeout;

  public StartupChecks(CollectorJobConfig config, Duration timeout) {
    this.config = config;
    this.timeout = timeout;
  }

  /** Fails with every problem found, one per line; returns when there is none. */
  public void verify() {
    List<String> problems = problems();
    if (!problems.isEmpty()) {
      throw new StartupCheckFailed(problems);
    }
  }

  /** What keeps the job from running, one sentence each; empty when nothing does. */
  public List<String> problems() {
    List<String> problems = new ArrayList<>();
    try {
      checkDatabase(problems);
      checkKafkaTopics(problems);
      checkMqttBroker(problems);
    } finally {
      // The driver registered itself JVM-wide when it loaded; where main runs in the JobManager,
      // it would keep this job's classes loaded there for good.
      LibraryRelease.releaseJdbcDrivers();
    }
    return problems;
  }

  private void checkDatabase(List<String> problems) {
    Properties properties = new Properties();
    if (config.databaseUser() != null) {
      properties.setProperty("user", config.databaseUser());
    }
    if (config.databasePassword() != null) {
      properties.setProperty("password", config.databasePassword());
    }
    properties.setProperty("connectTimeout", Long.toString(Math.max(1, timeout.toSeconds())));
    properties.setProperty("ApplicationName", "collector-startup-check");
    try (Connection connection = connect(properties)) {
      if (config.sinkGuarantee() == DeliveryGuarantee.EXACTLY_ONCE) {
        PostgresCopySink.exactlyOnceProblem(connection).ifPresent(problems::add);
      }
      // Before anything of this job starts: its dead-letter sink's Kafka transactions are named
      // after the same prefix, and their start would fence the running job's producers.
      List<String> writers = sessionsWritingWithThePrefix(connection);
      if (!writers.isEmpty()) {
        problems.add(
            "another job is running with sink.transaction-prefix "
                + config.sinkTransactionPrefix()
                + " ("
                + writers.get(0)
                + (writers.size() > 1 ? ", and " + (writers.size() - 1) + " more" : "")
                + "): give each job its own prefix, or stop that job first (a second copy would"
                + " fence its dead-letter transactions and fail at start). If that job is gone"
                + " (its host lost), the server ends its sessions within about a minute; or end"
                + " them with SELECT pg_terminate_backend(<pid>).");
      }
      CollectorSchema.timescaleProblem(connection).ifPresent(problems::add);
    } catch (SQLException e) {
      problems.add(describeDatabaseFailure(e));
    }
  }

  /**
   * The sessions of running jobs writing with this job's prefix. A job just cancelled or stopped
   * (say to redeploy it) lets go of its sessions a moment after Flink reports it gone, so they get
   * a few seconds to end before they count.
   */
  private List<String> sessionsWritingWithThePrefix(Connection connection) throws SQLException {
    long deadline =
        System.nanoTime() + Math.min(timeout.toNanos(), Duration.ofSeconds(10).toNanos());
    while (true) {
      List<String> writers =
          PostgresCopySink.sessionsWritingWith(connection, config.sinkTransactionPrefix());
      if (writers.isEmpty() || System.nanoTime() > deadline) {
        return writers;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return writers;
      }
    }
  }

  /**
   * Through the driver itself, not {@link DriverManager}: where {@code main} runs in the
   * JobManager, each job has a class loader of its own, and DriverManager scans for drivers once
   * per JVM, so from the second job on it would find none ("No suitable driver").
   */
  private Connection connect(Properties properties) throws SQLException {
    Connection connection = new org.postgresql.Driver().connect(config.databaseUrl(), properties);
    if (connection == null) {
      throw new SQLException(
          "database.url is not a PostgreSQL JDBC URL (jdbc:postgresql://…): "
              + config.databaseUrl(),
          "08001");
    }
    return connection;
  }

  private String describeDatabaseFailure(SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    String where = "the database at " + config.databaseUrl();
    if (state.equals("28P01") || state.equals("28000")) {
      return where
          + " refused database.user '"
          + config.databaseUser()
          + "' ("
          + e.getMessage()
          + "): check database.user and database.password.";
    }
    if (state.equals("3D000")) {
      return where + " does not exist (" + e.getMessage() + "): check database.url.";
    }
    if (state.startsWith("08")) {
      return "cannot reach "
          + where
          + " ("
          + e.getMessage()
          + "): check database.url and that PostgreSQL is running.";
    }
    return where + " answered " + state + ": " + e.getMessage();
  }

  private void checkKafkaTopics(List<String> problems) {
    Set<String> required = new LinkedHashSet<>(RequiredTopics.of(config));
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrapServers());
    properties.put(AdminClientConfig.CLIENT_ID_CONFIG, "collector-startup-check");
    int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, millis);
    properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, millis);
    try (Admin admin = Admin.create(properties)) {
      Set<String> existing = admin.listTopics().names().get(millis, TimeUnit.MILLISECONDS);
      List<String> missing = new ArrayList<>();
      for (String topic : required) {
        if (!existing.contains(topic)) {
          missing.add(topic);
        }
      }
      if (!missing.isEmpty()) {
        problems.add(
            "Kafka at "
                + config.kafkaBootstrapServers()
                + " has no topic "
                + String.join(", ", missing)
                + ": create "
                + (missing.size() == 1 ? "it" : "them")
                + " (kafka-topics.sh --create --topic <name>; the devices topics compacted), or"
                + " name the right ones with the kafka.*-topic settings.");
      }
    } catch (TimeoutException | ExecutionException e) {
      problems.add(
          "cannot reach Kafka at "
              + config.kafkaBootstrapServers()
              + " within "
              + timeout.toSeconds()
              + " s ("
              + (e.getCause() == null ? e : e.getCause())
              + "): check kafka.bootstrap-servers.");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      problems.add("interrupted while checking Kafka");
    }
  }

  private void checkMqttBroker(List<String> problems) {
    var mqtt = config.mqttSettings();
    try (Socket socket = new Socket()) {
      socket.connect(
          new InetSocketAddress(mqtt.host(), mqtt.port()),
          (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    } catch (IOException | IllegalArgumentException e) {
      problems.add(
          "cannot reach the MQTT broker at "
              + mqtt.serverUri()
              + " ("
              + e
              + "): check mqtt.server, or start the job with --startup.checks false if the"
              + " broker comes later (alerts wait for it, up to mqtt.max-pending).");
    }
  }

  /** The job cannot run as configured; the message lists why. */
  public static final class StartupCheckFailed extends IllegalStateException {

    private final List<String> problems;

    StartupCheckFailed(List<String> problems) {
      super(message(problems));
      this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
      return problems;
    }

    private static String message(List<String> problems) {
      StringBuilder text =
          new StringBuilder("The collector job was not started: its start-up checks found ")
              .append(problems.size() == 1 ? "a problem" : problems.size() + " problems")
              .append(" (skip them with --startup.checks false):");
      for (String problem : problems) {
        text.append("\n  - ").append(problem);
      }
      return text.toString();
    }
  }
}
