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
}
