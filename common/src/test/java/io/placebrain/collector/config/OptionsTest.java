package io.placebrain.collector.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptionsTest {

  /** An application listing the shared options and one of its own, as the three apps do. */
  private static final Options APP =
      Options.builder()
          .own("server.port", "50054")
          .add(DatabaseOptions.URL, DatabaseOptions.USER, DatabaseOptions.PASSWORD)
          .add(
              MqttOptions.SERVER,
              MqttOptions.CLIENT_ID.withDefault("collector-test"),
              MqttOptions.USERNAME,
              MqttOptions.PASSWORD,
              MqttOptions.VERSION,
              MqttOptions.ACK_TIMEOUT,
              MqttOptions.CA_FILE)
          .add(StorageOptions.RETENTION, StorageOptions.COMPRESS_AFTER)
          .build();

  @Test
  void defaultsRunAgainstLocalServices() {
    Settings settings = APP.read(new String[0], Map.of());
    assertThat(DatabaseOptions.url(settings))
        .isEqualTo("jdbc:postgresql://localhost:5432/telemetry_db");
    assertThat(DatabaseOptions.user(settings)).isEqualTo("collector");
    assertThat(DatabaseOptions.password(settings)).isEqualTo("collector");
    assertThat(StorageOptions.retention(settings)).isEqualTo(Duration.ofDays(90));
    assertThat(StorageOptions.compressAfter(settings)).isEqualTo(Duration.ofDays(7));
    var mqtt = MqttOptions.connection(settings, 10);
    assertThat(mqtt.serverUri()).isEqualTo("tcp://localhost:1883");
    assertThat(mqtt.clientIdPrefix()).isEqualTo("collector-test");
    assertThat(mqtt.version()).isEqualTo("5");
    assertThat(mqtt.username()).isNull();
    assertThat(mqtt.password()).isNull();
    assertThat(mqtt.caFile()).isNull();
    assertThat(mqtt.ackTimeout()).isZero();
    assertThat(APP.defaults()).containsKeys("server.port", "mqtt.ca-file");
  }

  @Test
  void aSharedOptionWithAnotherDefaultKeepsItsKeyAndMeaning() {
    Option own = MqttOptions.CLIENT_ID.withDefault("collector-test");
    assertThat(own.key()).isEqualTo(MqttOptions.CLIENT_ID.key());
    assertThat(own.description()).isEqualTo(MqttOptions.CLIENT_ID.description());
    assertThat(own.defaultValue()).isEqualTo("collector-test");
  }

  @Test
  void environmentAndFlagsReachTheSharedOptions() {
    Settings settings =
        APP.read(
            new String[] {"--database.user", "reader"},
            Map.of(
                "COLLECTOR_DATABASE_USER", "ignored",
                "COLLECTOR_DATABASE_PASSWORD", "",
                "COLLECTOR_STORAGE_RETENTION", "30d"));
    assertThat(DatabaseOptions.user(settings)).isEqualTo("reader");
    assertThat(DatabaseOptions.password(settings)).isNull();
    assertThat(StorageOptions.retention(settings)).isEqualTo(Duration.ofDays(30));
  }

  @Test
  void aMalformedSharedValueFailsAtReadNamingTheSetting() {
    assertThatThrownBy(() -> APP.read(new String[] {"--storage.retention", "forever"}, Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("storage.retention = 'forever' is not valid: expected a duration");
    assertThatThrownBy(
            () -> APP.read(new String[0], Map.of("COLLECTOR_MQTT_ACK_TIMEOUT", "a while")))
        .hasMessageStartingWith("mqtt.ack-timeout = 'a while' is not valid");
    Settings wrongServer = APP.read(new String[] {"--mqtt.server", "http://broker"}, Map.of());
    assertThatThrownBy(() -> MqttOptions.connection(wrongServer, 1))
        .hasMessageContaining("tcp://host:port or ssl://host:port");
    Settings caWithoutTls = APP.read(new String[] {"--mqtt.ca-file", "/ca.pem"}, Map.of());
    assertThatThrownBy(() -> MqttOptions.connection(caWithoutTls, 1)).hasMessageContaining("TLS");
  }

  @Test
  void anUnknownFlagFailsListingTheKnownOnesWhileUnknownVariablesAreIgnored() {
    // Variables: the environment holds every application's COLLECTOR_* settings (the local stack's
    // next to the job's), so each application ignores the ones it does not know.
    Settings settings = APP.read(new String[0], Map.of("COLLECTOR_MQTT_MAX_PENDING", "5"));
    assertThatThrownBy(() -> settings.get("mqtt.max-pending"))
        .hasMessageContaining("Unknown setting mqtt.max-pending");
    assertThatThrownBy(() -> APP.read(new String[] {"--mqtt.max-pending", "5"}, Map.of()))
        .hasMessageContaining("Unknown setting --mqtt.max-pending")
        .hasMessageContaining("mqtt.ca-file");
  }

  @Test
  void thePasswordsAreSecret() {
    assertThat(APP.secrets()).containsExactly("database.password", "mqtt.password");
    assertThat(APP.read(new String[] {"--mqtt.password", "hunter22"}, Map.of()).toString())
        .contains("database.password=***", "mqtt.password=***")
        .doesNotContain("hunter22", "password=collector");
  }

  @Test
  void anOptionListedTwiceIsRefused() {
    assertThatThrownBy(
            () ->
                Options.builder()
                    .add(DatabaseOptions.URL)
                    .own("database.url", "jdbc:postgresql://elsewhere/db"))
        .hasMessage("option database.url is listed twice");
  }
}
