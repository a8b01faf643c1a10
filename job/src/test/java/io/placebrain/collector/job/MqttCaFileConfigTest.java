package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A wrong {@code mqtt.ca-file} fails the job's configuration with the file's name, at start. */
class MqttCaFileConfigTest {

  @TempDir Path dir;

  @Test
  void aMissingCaFileIsNamed() {
    String missing = dir.resolve("missing-ca.pem").toString();
    assertThatThrownBy(() -> config("ssl://broker:8883", missing))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(missing);
  }

  @Test
  void aFileWithoutCertificatesIsRefused() throws Exception {
    Path empty = Files.writeString(dir.resolve("empty.pem"), "not a certificate\n");
    assertThatThrownBy(() -> config("ssl://broker:8883", empty.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(empty.toString());
  }

  @Test
  void aCaFileWithoutTlsIsRefused() {
    assertThatThrownBy(() -> config("tcp://broker:1883", "/etc/ssl/ca.pem"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("TLS");
  }

  @Test
  void noCaFileTrustsTheDefaults() {
    assertThat(config("ssl://broker:8883", "").mqttSettings().trustManagerFactory()).isNull();
  }

  private static CollectorJobConfig config(String server, String caFile) {
    return CollectorJobConfig.from(new String[0], Map.of())
        .with(Map.of("mqtt.server", server, "mqtt.ca-file", caFile));
  }
}
