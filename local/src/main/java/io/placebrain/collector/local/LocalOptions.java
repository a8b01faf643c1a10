package io.placebrain.collector.local;

import io.placebrain.collector.config.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The local stack's options, as flags ({@code --kafka.port 9093}) or {@code COLLECTOR_*}
 * environment variables. An endpoint setting replaces the embedded service with a real one; the
 * names are the job's and the query service's, so the same variables configure all three.
 */
public final class LocalOptions {

  /** Every option with its default, in the order the README lists them. */
  public static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put("data-dir", "collector-data");
    DEFAULTS.put("wipe", "false");
    DEFAULTS.put("kafka.port", "9092");
    DEFAULTS.put("postgres.port", "5432");
    DEFAULTS.put("mqtt.port", "1883");
    DEFAULTS.put("grpc.port", "50054");
    DEFAULTS.put("web-ui.port", "8081");
    DEFAULTS.put("bind-address", "127.0.0.1");
    DEFAULTS.put("kafka.bootstrap-servers", "");
    DEFAULTS.put("database.url", "");
    DEFAULTS.put("database.user", "collector");
    DEFAULTS.put("database.password", "collector");
    DEFAULTS.put("mqtt.server", "");
    DEFAULTS.put("mqtt.version", "");
    DEFAULTS.put("simulator", "true");
    DEFAULTS.put("simulator.rate", "10");
    DEFAULTS.put("simulator.places", "3");
    DEFAULTS.put("simulator.devices-per-place", "3");
    DEFAULTS.put("simulator.period", "2min");
    DEFAULTS.put("status.interval", "5s");
  }

  private final Settings settings;

  private LocalOptions(Settings settings) {
    this.settings = settings;
    validate();
  }

  public static LocalOptions from(String[] args, Map<String, String> environment) {
    return new LocalOptions(
        Settings.read(DEFAULTS, Set.of("database.password"), args, environment));
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
    return settings.optional("kafka.bootstrap-servers");
  }

  /** Null: run an embedded PostgreSQL. */
  public String databaseUrl() {
    return settings.optional("database.url");
  }

  public String databaseUser() {
    return settings.optional("database.user");
  }

  public String databasePassword() {
    return settings.optional("database.password");
  }

  /** Null: run an embedded broker. */
  public String mqttServer() {
    return settings.optional("mqtt.server");
  }

  /** Null: 3.1.1 for the embedded broker, 5 for a real one. */
  public String mqttVersion() {
    return settings.optional("mqtt.version");
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
