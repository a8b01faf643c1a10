package io.placebrain.collector.mqtt;

import java.io.Serializable;
import java.util.concurrent.CompletableFuture;

/** Publishes QoS 1 messages to a broker; a seam so failure paths can be tested without one. */
public interface MqttPublisher extends AutoCloseable {

  /** Starts connecting, and keeps reconnecting with backoff; {@code onConnected} runs each time. */
  void start(Runnable onConnected);

  boolean isConnected();

  /**
   * Completes when the broker acknowledged the message; exceptionally with {@link
   * MqttRefusedException} if the broker refused it for good, with anything else if it was not
   * delivered (e.g. the connection dropped). Must not block.
   */
  CompletableFuture<Void> publish(String topic, byte[] payload);

  @Override
  void close();

  /** Creates a publisher for one writer subtask. */
  @FunctionalInterface
  interface Factory extends Serializable {
    MqttPublisher create(MqttSinkSettings settings, int subtask);
  }
}
