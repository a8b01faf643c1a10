package io.placebrain.collector.mqtt;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collection;
import javax.net.ssl.TrustManagerFactory;

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
 * @param caFile PEM file of the CA certificates that sign the broker's certificate (TLS only); null
 *     trusts the JVM's default CAs
 */
public record MqttSinkSettings(
    String serverUri,
    String clientIdPrefix,
    String username,
    String password,
    String version,
    int maxPending,
    Duration ackTimeout,
    String caFile)
    implements Serializable {

  /** Settings that trust the JVM's default CAs. */
  public MqttSinkSettings(
      String serverUri,
      String clientIdPrefix,
      String username,
      String password,
      String version,
      int maxPending,
      Duration ackTimeout) {
    this(serverUri, clientIdPrefix, username, password, version, maxPending, ackTimeout, null);
  }

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
    if (caFile != null && !"ssl".equals(uri.getScheme())) {
      throw new IllegalArgumentException(
          "An MQTT CA file only applies to TLS (ssl://host:port), not to " + serverUri);
    }
  }

  /** A copy that trusts the CAs in {@code caFile} (PEM). */
  public MqttSinkSettings withCaFile(String caFile) {
    return new MqttSinkSettings(
        serverUri, clientIdPrefix, username, password, version, maxPending, ackTimeout, caFile);
  }

  /**
   * Trust in the CAs of {@link #caFile()}, or null for the JVM's defaults; fails with a message
   * naming the file if it cannot be read or holds no certificate.
   */
  public TrustManagerFactory trustManagerFactory() {
    if (caFile == null) {
      return null;
    }
    try (InputStream in = Files.newInputStream(Path.of(caFile))) {
      Collection<? extends Certificate> certificates =
          CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (certificates.isEmpty()) {
        throw new IllegalArgumentException("MQTT CA file " + caFile + " holds no certificate");
      }
      KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
      trusted.load(null, null);
      int i = 0;
      for (Certificate certificate : certificates) {
        trusted.setCertificateEntry("ca-" + i++, certificate);
      }
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(trusted);
      return factory;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "Could not read the MQTT CA file " + caFile + " (PEM certificates expected): " + e, e);
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
