package io.placebrain.collector.testing.mqtt;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.message.publish.Mqtt3Publish;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An MQTT subscriber that records every message arriving on a topic filter. It reconnects by itself
 * and subscribes again after each connection, so it keeps recording across a broker restart.
 */
public final class MqttRecorder implements AutoCloseable {

  /** One message as it arrived. */
  public record Received(String topic, String payload, int qos) {}

  private final Mqtt3AsyncClient client;
  private final String identifier = "recorder-" + UUID.randomUUID();
  private final String topicFilter;
  private final List<Received> received = new ArrayList<>();
  private final CompletableFuture<Void> firstSubscription = new CompletableFuture<>();

  private MqttRecorder(TestMqttBroker broker, String topicFilter) {
    this.topicFilter = topicFilter;
    this.client =
        MqttClient.builder()
            .useMqttVersion3()
            .identifier(identifier)
            .serverHost(broker.host())
            .serverPort(broker.port())
            .automaticReconnect()
            .initialDelay(50, TimeUnit.MILLISECONDS)
            .maxDelay(500, TimeUnit.MILLISECONDS)
            .applyAutomaticReconnect()
            .addConnectedListener(context -> subscribe())
            .buildAsync();
    // One callback for the client's lifetime: subscriptions renewed after a reconnect must not
    // add a second consumer of the same messages.
    client.publishes(MqttGlobalPublishFilter.SUBSCRIBED, this::record);
  }

  /** Connects, subscribes with QoS 1 and returns once the subscription is in place. */
  public static MqttRecorder subscribe(TestMqttBroker broker, String topicFilter) {
    MqttRecorder recorder = new MqttRecorder(broker, topicFilter);
    recorder.client.connectWith().cleanSession(true).send().join();
    recorder.firstSubscription.join();
    return recorder;
  }

  private void subscribe() {
    client
        .subscribeWith()
        .topicFilter(topicFilter)
        .qos(MqttQos.AT_LEAST_ONCE)
        .send()
        .whenComplete(
            (ack, failure) -> {
              if (failure != null) {
                firstSubscription.completeExceptionally(failure);
              } else {
                firstSubscription.complete(null);
              }
            });
  }

  private synchronized void record(Mqtt3Publish publish) {
    received.add(
        new Received(
            publish.getTopic().toString(),
            new String(publish.getPayloadAsBytes(), StandardCharsets.UTF_8),
            publish.getQos().getCode()));
    notifyAll();
  }

  /** Everything recorded so far, in arrival order. */
  public synchronized List<Received> received() {
    return List.copyOf(received);
  }

  /**
   * Waits until at least {@code count} messages arrived or the timeout ran out, and returns what
   * arrived (possibly fewer: the caller asserts).
   */
  public synchronized List<Received> await(int count, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (received.size() < count) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return new ArrayList<>(received);
  }

  public boolean isConnected() {
    return client.getState().isConnected();
  }

  @Override
  public void close() {
    if (client.getState().isConnected()) {
      client.disconnect().join();
    }
  }
}
