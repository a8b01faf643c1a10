package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QueryServiceConfigTest {

  @Test
  void defaultsServeOnPort50054AgainstLocalServices() {
    QueryServiceConfig config = QueryServiceConfig.from(new String[0], Map.of());
    assertThat(config.port()).isEqualTo(50054);
    assertThat(config.tlsCertChain()).isNull();
    assertThat(config.kafkaBootstrapServers()).isEqualTo("localhost:9092");
    assertThat(config.mqttSettings().serverUri()).isEqualTo("tcp://localhost:1883");
    assertThat(config.queryTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.toString())
        .contains("database.password=***")
        .doesNotContain("password=collector");
  }

  @Test
  void environmentAndFlagsOverrideAndEmptySwitchesPartsOff() {
    QueryServiceConfig config =
        QueryServiceConfig.from(
            new String[] {"--server.port", "6000", "--mqtt.server", ""},
            Map.of("COLLECTOR_KAFKA_BOOTSTRAP_SERVERS", "", "COLLECTOR_SERVER_PORT", "5000"));
    assertThat(config.port()).isEqualTo(6000);
    assertThat(config.kafkaBootstrapServers()).isNull();
    assertThat(config.mqttSettings()).isNull();
  }

  @Test
  void badSettingsFailAtStartWithTheirName() {
    assertThatThrownBy(
            () -> QueryServiceConfig.from(new String[] {"--server.port", "70000"}, Map.of()))
        .hasMessageContaining("server.port");
    assertThatThrownBy(
            () -> QueryServiceConfig.from(new String[] {"--tls.cert-chain", "/c.pem"}, Map.of()))
        .hasMessageContaining("tls.private-key");
    assertThatThrownBy(
            () -> QueryServiceConfig.from(new String[] {"--mqtt.server", "http://x"}, Map.of()))
        .hasMessageContaining("tcp://host:port");
    assertThatThrownBy(
            () -> QueryServiceConfig.from(new String[] {"--query.timeout", "later"}, Map.of()))
        .hasMessageContaining("query.timeout");
  }

  @Test
  void thePoolAndTheThreadsMustLeaveRoomForLightCallsBesideTheHeavyOnes() {
    QueryServiceConfig defaults = QueryServiceConfig.from(new String[0], Map.of());
    assertThat(defaults.poolSize()).isGreaterThanOrEqualTo(defaults.maxConcurrentQueries() + 2);
    assertThat(defaults.threads())
        .isGreaterThanOrEqualTo(defaults.maxConcurrentQueries() + defaults.maxQueuedQueries() + 2);
    assertThatThrownBy(
            () ->
                QueryServiceConfig.from(
                    new String[] {"--query.max-concurrent", "8", "--database.pool-size", "8"},
                    Map.of()))
        .hasMessageContaining("database.pool-size (8) must be at least query.max-concurrent (8)");
    assertThatThrownBy(
            () ->
                QueryServiceConfig.from(
                    new String[] {"--query.max-queued", "100", "--server.threads", "32"}, Map.of()))
        .hasMessageContaining("server.threads (32)");
    assertThatThrownBy(
            () ->
                QueryServiceConfig.from(
                    new String[] {"--server.max-inbound-message-size", "10"}, Map.of()))
        .hasMessageContaining("server.max-inbound-message-size");
  }
}
