package io.placebrain.collector.mqtt;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttClientBuilder;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.exceptions.Mqtt3ConnAckException;
import com.hivemq.client.mqtt.mqtt3.message.connect.connack.Mqtt3ConnAckReturnCode;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link MqttPublisher} on hivemq-mqtt-client, MQTT 5 or 3.1.1, reconnecting by itself with
 * exponential backoff (0.5 s to 30 s), also when the broker refuses it (bad credentials) or TLS
 * fails: that is logged as an error each attempt. Sessions start clean: what was in flight when a
 * connection dropped is sent again by the sink, not by the client.
 */
public final class HiveMqPublisher implements MqttPublisher {

  private static final Logger LOG = LoggerFactory.getLogger(HiveMqPublisher.class);

  private final MqttSinkSettings settings;
  private final String clientId;
  private Mqtt5AsyncClient v5;
  private Mqtt3AsyncClient v3;
  private volatile String connectionProblem;

  public HiveMqPublisher(MqttSinkSettings settings, int subtask) {
    this.settings = settings;
    this.clientId = settings.clientIdPrefix() + "-" + subtask;
  }

  @Override
  public void start(Runnable onConnected) {
    MqttClientBuilder builder =
        MqttClient.builder()
            .identifier(clientId)
            .serverHost(settings.host())
            .serverPort(settings.port())
            .automaticReconnect()
            .initialDelay(500, TimeUnit.MILLISECONDS)
            .maxDelay(30, TimeUnit.SECONDS)
            .applyAutomaticReconnect()
            .addConnectedListener(
                context -> {
                  connectionProblem = null;
                  LOG.info("MQTT client {} connected to {}", clientId, settings.serverUri());
                  onConnected.run();
                })
            .addDisconnectedListener(context -> disconnected(context.getCause()));
    if (settings.tls()) {
      TrustManagerFactory trust = settings.trustManagerFactory();
      builder =
          trust == null
              ? builder.sslWithDefaultConfig()
              : builder.sslConfig().trustManagerFactory(trust).applySslConfig();
    }
    if ("5".equals(settings.version())) {
      var v5Builder = builder.useMqttVersion5();
      if (settings.username() != null) {
        v5Builder =
            v5Builder
                .simpleAuth()
                .username(settings.username())
                .password(bytes(settings.password()))
                .applySimpleAuth();
      }
      v5 = v5Builder.buildAsync();
      v5.connectWith().cleanStart(true).send();
    } else {
      var v3Builder = builder.useMqttVersion3();
      if (settings.username() != null) {
        v3Builder =
            v3Builder
                .simpleAuth()
                .username(settings.username())
                .password(bytes(settings.password()))
                .applySimpleAuth();
      }
      v3 = v3Builder.buildAsync();
      v3.connectWith().cleanSession(true).send();
    }
  }

  /**
   * Logs why the client is not connected. A broker that refuses the client (bad credentials, not
   * authorized) or a TLS handshake that fails is an error an operator must fix; the client keeps
   * retrying with backoff, so fixing it on the broker's side needs no restart of the job, and the
   * readings never wait for it.
   */
  private void disconnected(Throwable cause) {
    String problem = problem(cause);
    if (problem == null) {
      LOG.warn(
          "MQTT client {} disconnected from {}: {}",
          clientId,
          settings.serverUri(),
          cause.getMessage());
      return;
    }
    connectionProblem = problem;
    LOG.error(
        "MQTT client {}: {}; retrying with backoff, alerts wait (at most mqtt.max-pending)",
        clientId,
        problem);
  }

  /** A sentence saying what is wrong, if the broker refused the client or TLS failed. */
  private String problem(Throwable cause) {
    if (cause instanceof Mqtt5ConnAckException refused) {
      Mqtt5ConnAckReasonCode code = refused.getMqttMessage().getReasonCode();
      return "the broker at %s refused the connection: %s (CONNACK reason code 0x%02X)%s"
          .formatted(settings.serverUri(), code, code.getCode(), credentialsHint(code.name()));
    }
    if (cause instanceof Mqtt3ConnAckException refused) {
      Mqtt3ConnAckReturnCode code = refused.getMqttMessage().getReturnCode();
      return "the broker at %s refused the connection: %s (CONNACK return code %d)%s"
          .formatted(settings.serverUri(), code, code.getCode(), credentialsHint(code.name()));
    }
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof SSLException tls) {
        return "TLS with the broker at %s failed: %s; check that mqtt.ca-file holds the CA of the broker's certificate and that the certificate names the host"
            .formatted(settings.serverUri(), tls.getMessage());
      }
    }
    return null;
  }

  private static String credentialsHint(String code) {
    return code.contains("USER_NAME") || code.contains("AUTHORIZED")
        ? "; check mqtt.username and mqtt.password"
        : "";
  }

  /**
   * Why the client cannot connect, if the broker refused it or TLS failed; null once it connected
   * or while the cause is an ordinary outage.
   */
  public String connectionProblem() {
    return connectionProblem;
  }

  private static byte[] bytes(String text) {
    return text == null ? new byte[0] : text.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public boolean isConnected() {
    return v5 != null ? v5.getState().isConnected() : v3 != null && v3.getState().isConnected();
  }

  @Override
  public CompletableFuture<Void> publish(String topic, byte[] payload) {
    if (v5 != null) {
      return v5.publishWith()
          .topic(topic)
          .qos(MqttQos.AT_LEAST_ONCE)
          .payload(payload)
          .send()
          .handle(
              (result, failure) -> {
                Throwable error =
                    failure != null ? unwrap(failure) : result.getError().orElse(null);
                if (error == null) {
                  return null;
                }
                // The client fails the future with the PUBACK's reason code when it is an error.
                // Only refusals that a resend cannot change are final; quota exceeded,
                // unspecified and implementation-specific errors are often passing (rate limits,
                // overload): those are sent again like any other failed publish.
                if (error instanceof Mqtt5PubAckException refusal
                    && isFinal(refusal.getMqttMessage().getReasonCode())) {
                  throw new MqttRefusedException(
                      refusal.getMqttMessage().getReasonCode().getCode(),
                      refusal.getMqttMessage().getReasonCode().name());
                }
                throw new IllegalStateException("Not delivered: " + error, error);
              });
    }
    return v3.publishWith()
        .topic(topic)
        .qos(MqttQos.AT_LEAST_ONCE)
        .payload(payload)
        .send()
        .thenAccept(ignored -> {});
  }

  /** Refusals that mean the same publish will be refused again: not authorized, bad topic. */
  static boolean isFinal(Mqtt5PubAckReasonCode code) {
    return code == Mqtt5PubAckReasonCode.NOT_AUTHORIZED
        || code == Mqtt5PubAckReasonCode.TOPIC_NAME_INVALID
        || code == Mqtt5PubAckReasonCode.PAYLOAD_FORMAT_INVALID;
  }

  private static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause()
        : failure;
  }

  @Override
  public void close() {
    // Also while reconnecting (broker down): disconnect() cancels the automatic reconnect. A client
    // left reconnecting would come back with the same client id and take the session over from
    // the subtask that replaced this one.
    try {
      if (v5 != null) {
        v5.disconnect().get(5, TimeUnit.SECONDS);
      } else if (v3 != null) {
        v3.disconnect().get(5, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      LOG.debug("MQTT disconnect on close: {}", e.toString());
    }
  }
}
