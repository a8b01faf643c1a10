package io.placebrain.collector.local;

import io.placebrain.collector.config.DatabaseOptions;
import io.placebrain.collector.config.KafkaOptions;
import io.placebrain.collector.config.MqttOptions;
import io.placebrain.collector.config.Options;
import io.placebrain.collector.config.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The local stack's options, as flags ({@code --kafka.port 9093}) or {@code COLLECTOR_*}
 * environment variables. An endpoint setting replaces the embedded service with a real one; the
 * names are the job's and the query service's, so the same variables configure all three.
 */
public final class LocalOptions {

  /**
   * Every option, in the order the README lists them. The endpoints and credentials are the
   * definitions the job and the query service use, but an endpoint defaults to empty here: empty
   * runs the embedded service.
   */
  public static final Options OPTIONS =
      Options.builder()
          .own("data-dir", "collector-data")
          .own("wipe", "false")
          .own("kafka.port", "9092")
          .own("postgres.port", "5432")
          .own("mqtt.port", "1883")
          .own("grpc.port", "50054")
          .own("web-ui.port", "8081")
          .own("bind-address", "127.0.0.1")
          .add(KafkaOptions.BOOTSTRAP_SERVERS.withDefault(""))
          .add(DatabaseOptions.URL.withDefault(""), DatabaseOptions.USER, DatabaseOptions.PASSWORD)
          // Empty version: the job and the service keep their own (5 unless set in the
          // environment).
          .add(MqttOptions.SERVER.withDefault(""), MqttOptions.VERSION.withDefault(""))
          .own("simulator", "true")
          .own("simulator.rate", "10")
          .own("simulator.places", "3")
          .own("simulator.devices-per-place", "3")
          .own("simulator.period", "2min")
          .own("status.interval", "5s")
          .build();

  /** Every option with its default, in the order the README lists them. */
  public static final Map<String, String> DEFAULTS = OPTIONS.defaults();

  private final Settings settings;

  private LocalOptions(Settings settings) {
    this.settings = settings;
    validate();
  }

  public static LocalOptions from(String[] args, Map<String, String> environment) {
    return new LocalOptions(OPTIONS.read(args, environment));
  }

  public LocalOptions with(Map<String, String> overrides) {
    return new LocalOptions(settings.with(overrides));
  }

  private void validate() {
    for (String port :
        new String[] {"kafka.port", "postgres.port", "mqtt.port", "grpc.port", "web-ui.port"}) {
      int value = settings.integer(port);
      if (value < 1 || value > 65535) {
        throw settings.invalid(port, "a port number");
      }
    }
    settings.bool("wipe");
    settings.bool("simulator");
    if (simulatorRate() <= 0) {
      throw settings.invalid("simulator.rate", "a positive number of records per second");
    }
    if (simulatorPlaces() < 1 || devicesPerPlace() < 1) {
      throw settings.invalid("simulator.places", "at least one place with at least one device");
    }
    simulatorPeriod();
    statusInterval();
  }

  /**
   * The address every embedded service and the web UI listen on: loopback unless set (e.g. {@code
   * 0.0.0.0} to reach the stack from other machines).
   */
  public String bindAddress() {
    return settings.get("bind-address");
  }

  public Path dataDir() {
    return Path.of(settings.get("data-dir")).toAbsolutePath();
  }

  public boolean wipe() {
    return settings.bool("wipe");
  }

  public int kafkaPort() {
    return settings.integer("kafka.port");
  }

  public int postgresPort() {
    return settings.integer("postgres.port");
  }

  public int mqttPort() {
    return settings.integer("mqtt.port");
  }

  public int grpcPort() {
    return settings.integer("grpc.port");
  }

  public int webUiPort() {
    return settings.integer("web-ui.port");
  }

  /** Null: run an embedded broker. */
  public String kafkaBootstrapServers() {
    return settings.optional(KafkaOptions.BOOTSTRAP_SERVERS.key());
  }

  /** Null: run an embedded PostgreSQL. */
  public String databaseUrl() {
    return settings.optional(DatabaseOptions.URL.key());
  }

  public String databaseUser() {
    return DatabaseOptions.user(settings);
  }

  public String databasePassword() {
    return DatabaseOptions.password(settings);
  }

  /** Null: run an embedded broker. */
  public String mqttServer() {
    return settings.optional(MqttOptions.SERVER.key());
  }

  /** Null: the job's and the query service's own setting (5 unless set in the environment). */
  public String mqttVersion() {
    return settings.optional(MqttOptions.VERSION.key());
  }

  public boolean simulator() {
    return settings.bool("simulator");
  }

  /** Telemetry records per second, each with a few values. */
  public double simulatorRate() {
    return settings.decimal("simulator.rate");
  }

  public int simulatorPlaces() {
    return settings.integer("simulator.places");
  }

  public int devicesPerPlace() {
    return settings.integer("simulator.devices-per-place");
  }

  /** How long one swing of a simulated value takes; thresholds are crossed about once per swing. */
  public Duration simulatorPeriod() {
    return settings.duration("simulator.period");
  }

  public Duration statusInterval() {
    return settings.duration("status.interval");
  }

  @Override
  public String toString() {
    return settings.toString();
  }
}
