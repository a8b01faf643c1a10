package io.placebrain.collector.mqtt;

import java.io.Serializable;
import java.net.URI;
import java.time.Duration;

/**
 * Where and how the MQTT sink publishes.
 *
 * @param serverUri {@code tcp://host:port} or {@code ssl://host:port} (TLS)
 * @param clientIdPrefix each writer subtask connects as {@code <prefix>-<subtask>}
 * @param username null for anonymous
 * @param password null for none
 * @param version {@code 5} or {@code 3.1.1}
 * @param maxPending alerts kept (in memory and checkpoints) while unacknowledged; beyond this the
 *     oldest are dropped and counted
 * @param ackTimeout how long a checkpoint waits for acknowledgements while the broker is connected;
 *     whatever is still unacknowledged then goes into the checkpoint and is sent again later
 */
public record MqttSinkSettings(
    String serverUri,
    String clientIdPrefix,
    String username,
    String password,
    String version,
    int maxPending,
    Duration ackTimeout)
    implements Serializable {

  public MqttSinkSettings {
    URI uri = URI.create(serverUri);
    if (!"tcp".equals(uri.getScheme()) && !"ssl".equals(uri.getScheme())) {
      throw new IllegalArgumentException(
          "MQTT server must be tcp://host:port or ssl://host:port, not " + serverUri);
    }
    if (!"5".equals(version) && !"3.1.1".equals(version)) {
      throw new IllegalArgumentException("MQTT version must be 5 or 3.1.1, not " + version);
    }
    if (maxPending < 1) {
      throw new IllegalArgumentException("maxPending must be positive");
    }
  }

  public String host() {
    return URI.create(serverUri).getHost();
  }

  public int port() {
    URI uri = URI.create(serverUri);
    return uri.getPort() > 0 ? uri.getPort() : tls() ? 8883 : 1883;
  }

  public boolean tls() {
    return "ssl".equals(URI.create(serverUri).getScheme());
  }
}
