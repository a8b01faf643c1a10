package io.placebrain.collector.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SettingsTest {

  private static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put("server.port", "50054");
    DEFAULTS.put("database.password", "secret");
    DEFAULTS.put("query.timeout", "30s");
  }

  private static Settings read(Map<String, String> environment, String... args) {
    return Settings.read(DEFAULTS, Set.of("database.password"), args, environment);
  }

  @Test
  void flagsWinOverEnvironmentWhichWinsOverDefaults() {
    Settings settings =
        read(
            Map.of("COLLECTOR_SERVER_PORT", "6000", "COLLECTOR_QUERY_TIMEOUT", "5s"),
            "--server.port",
            "7000");
    assertThat(settings.integer("server.port")).isEqualTo(7000);
    assertThat(settings.duration("query.timeout")).isEqualTo(Duration.ofSeconds(5));
    assertThat(settings.get("database.password")).isEqualTo("secret");
  }

  @Test
  void acceptsKeyEqualsValueFlags() {
    assertThat(read(Map.of(), "--server.port=7001").integer("server.port")).isEqualTo(7001);
  }

  @Test
  void rejectsUnknownAndIncompleteFlagsNamingTheKnownOnes() {
    assertThatThrownBy(() -> read(Map.of(), "--server.prot", "1"))
        .hasMessageContaining("Unknown setting --server.prot")
        .hasMessageContaining("server.port");
    assertThatThrownBy(() -> read(Map.of(), "--server.port")).hasMessageContaining("needs a value");
    assertThatThrownBy(() -> read(Map.of(), "server.port")).hasMessageContaining("--key value");
  }

  @Test
  void malformedValuesNameTheSetting() {
    Settings settings = read(Map.of(), "--server.port", "fifty", "--query.timeout", "soon");
    assertThatThrownBy(() -> settings.integer("server.port"))
        .hasMessage("server.port = 'fifty' is not valid: expected an integer");
    assertThatThrownBy(() -> settings.duration("query.timeout"))
        .hasMessageContaining("query.timeout = 'soon'");
  }

  @Test
  void hidesSecretsWhenPrinted() {
    assertThat(read(Map.of()).toString())
        .contains("database.password=***")
        .doesNotContain("secret");
  }

  @Test
  void withReplacesOnlyKnownSettings() {
    Settings settings = read(Map.of()).with(Map.of("server.port", "1"));
    assertThat(settings.integer("server.port")).isEqualTo(1);
    assertThatThrownBy(() -> settings.with(Map.of("nope", "1"))).hasMessageContaining("nope");
  }

  @ParameterizedTest
  @CsvSource({
    "500ms,500",
    "250,250",
    "10s,10000",
    "10 s,10000",
    "2min,120000",
    "3m,180000",
    "1h,3600000",
    "7d,604800000"
  })
  void parsesDurations(String text, long millis) {
    assertThat(Durations.parse(text)).isEqualTo(Duration.ofMillis(millis));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "s", "10 parsecs", "-5s", "1.5s", "99999999999999999999s"})
  void rejectsMalformedDurations(String text) {
    assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class);
  }
}
