package io.placebrain.collector.testing;

import io.placebrain.collector.testing.kafka.ContainerKafkaBroker;
import io.placebrain.collector.testing.kafka.EmbeddedKafkaBroker;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import io.placebrain.collector.testing.postgres.ContainerPostgres;
import io.placebrain.collector.testing.postgres.EmbeddedPostgresServer;
import io.placebrain.collector.testing.postgres.ExternalPostgres;
import io.placebrain.collector.testing.postgres.TestPostgres;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real services integration tests talk to, each started on first use and shared by every test
 * in the JVM, then stopped when the JVM exits.
 *
 * <p>The provider is chosen by the system property {@value #PROVIDER_PROPERTY}: {@code embedded}
 * (default; in-process Kafka and MQTT, PostgreSQL server binaries from Maven Central, no Docker) or
 * {@code testcontainers} (Kafka and TimescaleDB images; needs a Docker engine). The environment
 * variable {@value ExternalPostgres#DATABASE_URL_ENV} overrides PostgreSQL with an external
 * database in either mode.
 */
public final class TestServices {

  public static final String PROVIDER_PROPERTY = "collector.test.provider";

  private static final Logger LOG = LoggerFactory.getLogger(TestServices.class);
  private static final Deque<AutoCloseable> STARTED = new ArrayDeque<>();

  private static TestKafka kafka;
  private static TestPostgres postgres;
  private static TestMqttBroker mqtt;

  private TestServices() {}

  /** The Kafka broker (KRaft, one node). */
  public static synchronized TestKafka kafka() {
    if (kafka == null) {
      kafka =
          started(
              "Kafka",
              () ->
                  new TestKafka(
                      useContainers()
                          ? ContainerKafkaBroker.launch()
                          : EmbeddedKafkaBroker.launch()));
    }
    return kafka;
  }

  /** The PostgreSQL server; use {@link FreshDatabase} for a database of a test class's own. */
  public static synchronized TestPostgres postgres() {
    if (postgres == null) {
      postgres =
          started(
              "PostgreSQL",
              () -> {
                if (ExternalPostgres.configured()) {
                  return ExternalPostgres.fromEnvironment();
                }
                return useContainers()
                    ? ContainerPostgres.launch()
                    : EmbeddedPostgresServer.launch();
              });
    }
    return postgres;
  }

  /** The MQTT broker (MQTT 3.1.1), which tests may stop and start again. */
  public static synchronized TestMqttBroker mqtt() {
    if (mqtt == null) {
      mqtt = started("MQTT broker", TestMqttBroker::launch);
    }
    return mqtt;
  }

  /**
   * Registers something else started once per JVM, such as the Flink MiniCluster, to be stopped
   * with the services.
   */
  public static synchronized void stopAtSessionEnd(AutoCloseable service) {
    STARTED.push(service);
  }

  static boolean useContainers() {
    String provider = System.getProperty(PROVIDER_PROPERTY, "embedded").toLowerCase(Locale.ROOT);
    switch (provider) {
      case "embedded":
        return false;
      case "testcontainers":
        return true;
      default:
        throw new IllegalArgumentException(
            "Unknown "
                + PROVIDER_PROPERTY
                + "='"
                + provider
                + "': use 'embedded' (default) or 'testcontainers'");
    }
  }

  private static <T extends AutoCloseable> T started(String name, Supplier<T> starter) {
    long begin = System.nanoTime();
    T service = starter.get();
    STARTED.push(service);
    LOG.info("{} ready in {} ms: {}", name, (System.nanoTime() - begin) / 1_000_000, service);
    return service;
  }

  /**
   * Stops every started service, newest first. Called when the test session ends ({@link
   * TestServicesShutdown}) rather than from JVM shutdown hooks, which run concurrently and would
   * race the services' own hooks.
   */
  public static synchronized void stopAll() {
    while (!STARTED.isEmpty()) {
      AutoCloseable service = STARTED.pop();
      try {
        service.close();
      } catch (Exception e) {
        // The JVM is exiting; a service that fails to stop must not hide the others.
        System.err.println("Could not stop " + service + ": " + e);
      }
    }
  }
}
