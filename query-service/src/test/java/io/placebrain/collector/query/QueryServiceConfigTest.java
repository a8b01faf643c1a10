package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.placebrain.collector.testing.tls.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QueryServiceConfigTest {

  @Test
  void defaultsServeOnPort50054AgainstLocalServices() {
    QueryServiceConfig config = QueryServiceConfig.from(new String[0], Map.of());
    assertThat(config.port()).isEqualTo(50054);
    assertThat(config.host()).isEqualTo("127.0.0.1");
    assertThat(config.isLoopback()).isTrue();
    assertThat(config.readTokens()).isEmpty();
    assertThat(config.adminTokens()).isEmpty();
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

  @Test
  void bindingBeyondLoopbackNeedsTokensOrMutualTlsOrAnExplicitOptOut() {
    assertThatThrownBy(
            () -> QueryServiceConfig.from(new String[] {"--server.host", "0.0.0.0"}, Map.of()))
        .hasMessageContaining("server.host 0.0.0.0 is reachable beyond this machine")
        .hasMessageContaining("auth.read-tokens")
        .hasMessageContaining("tls.client-ca")
        .hasMessageContaining("auth.allow-unauthenticated");
    assertThat(
            QueryServiceConfig.from(
                    new String[] {"--server.host", "0.0.0.0"},
                    Map.of("COLLECTOR_AUTH_READ_TOKENS", "0123456789abcdef0123"))
                .readTokens())
        .containsExactly("0123456789abcdef0123");
    assertThat(
            QueryServiceConfig.from(
                    new String[] {
                      "--server.host", "0.0.0.0", "--auth.allow-unauthenticated", "true"
                    },
                    Map.of())
                .allowUnauthenticated())
        .isTrue();
    assertThat(
            QueryServiceConfig.from(
                    new String[] {
                      "--server.host", "0.0.0.0",
                      "--tls.cert-chain", "/c.pem",
                      "--tls.private-key", "/k.pem",
                      "--tls.client-ca", "/ca.pem"
                    },
                    Map.of())
                .tlsClientCa())
        .hasToString("/ca.pem");
    assertThat(
            QueryServiceConfig.from(new String[] {"--server.host", "localhost"}, Map.of())
                .isLoopback())
        .isTrue();
  }

  @Test
  void tokensComeFromSettingsAndFilesAreCheckedAndNeverPrinted(@TempDir Path dir) throws Exception {
    Path admins = dir.resolve("admin-tokens");
    Files.writeString(admins, "# admins\n\nadmin-token-from-file-1\n  admin-token-from-file-2  \n");
    QueryServiceConfig config =
        QueryServiceConfig.from(
            new String[] {
              "--auth.read-tokens",
              "read-token-0123456789, read-token-abcdefghij",
              "--auth.admin-tokens-file",
              admins.toString()
            },
            Map.of());
    assertThat(config.readTokens())
        .containsExactly("read-token-0123456789", "read-token-abcdefghij");
    assertThat(config.adminTokens())
        .containsExactly("admin-token-from-file-1", "admin-token-from-file-2");
    assertThat(config.toString()).doesNotContain("read-token-0123456789");

    assertThatThrownBy(
            () -> QueryServiceConfig.from(new String[] {"--auth.admin-tokens", "short"}, Map.of()))
        .hasMessageContaining("auth.admin-tokens")
        .hasMessageContaining("at least 16 characters")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("short"));
    assertThatThrownBy(
            () ->
                QueryServiceConfig.from(
                    new String[] {
                      "--auth.read-tokens", "same-token-0123456789",
                      "--auth.admin-tokens", "same-token-0123456789"
                    },
                    Map.of()))
        .hasMessageContaining("auth.read-tokens and auth.admin-tokens");
    assertThatThrownBy(
            () ->
                QueryServiceConfig.from(
                    new String[] {"--auth.read-tokens-file", dir.resolve("none").toString()},
                    Map.of()))
        .hasMessageContaining("auth.read-tokens-file");
  }

  @Test
  void aBrokerWithAPrivateCaIsReachedThroughTheCaFile(@TempDir Path dir) {
    Path caFile = TestCertificates.authority("collector-test-ca").writeCaPem(dir.resolve("ca.pem"));
    QueryServiceConfig config =
        QueryServiceConfig.from(
            new String[] {
              "--mqtt.server", "ssl://broker:8883", "--mqtt.ca-file", caFile.toString()
            },
            Map.of());
    assertThat(config.mqttSettings().caFile()).isEqualTo(caFile.toString());
    assertThat(config.mqttSettings().trustManagerFactory()).isNotNull();

    String missing = dir.resolve("missing-ca.pem").toString();
    assertThatThrownBy(
            () ->
                QueryServiceConfig.from(
                    new String[] {"--mqtt.server", "ssl://broker:8883", "--mqtt.ca-file", missing},
                    Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(missing);
  }
}
