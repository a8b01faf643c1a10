package io.placebrain.collector.local.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.alerts.AlertJson;
import io.placebrain.collector.local.embedded.LocalMqttBroker;
import io.placebrain.collector.local.embedded.Ports;
import io.placebrain.collector.local.mqtt.RawMqttSubscriber.Received;
import io.placebrain.collector.mqtt.HiveMqPublisher;
import io.placebrain.collector.mqtt.MqttSinkSettings;
import io.placebrain.collector.testing.TestServices;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A subscriber in each common client pattern receives every alert event the job's publisher sends
 * (MQTT 5, QoS 1), in order per place, from the broker {@code local/run} embeds and from the tests'
 * broker: an MQTT 5 client, an MQTT 3.1.1 client, paho's {@code connect(); subscribe();
 * loop_start()} (SUBSCRIBE written right behind CONNECT, before CONNACK) on 3.1.1 and 5, and {@code
 * mosquitto_sub}'s empty client id with a clean start on 3.1.1 and 5.
 */
class SubscriberPatternsITCase {

  private static final String FILTER = "placebrain/+/alerts";

  @TempDir Path data;

  @ParameterizedTest(name = "{0} broker")
  @ValueSource(strings = {"local", "test"})
  void everySubscriberPatternReceivesEveryAlert(String broker) throws Exception {
    if (broker.equals("local")) {
      try (LocalMqttBroker local = LocalMqttBroker.start(data, "127.0.0.1", Ports.free())) {
        everySubscriberReceivesEveryAlert(local.serverUri());
      }
    } else {
      everySubscriberReceivesEveryAlert(TestServices.mqtt().serverUri());
    }
  }

  private void everySubscriberReceivesEveryAlert(String serverUri) throws Exception {
    URI server = URI.create(serverUri);
    String host = server.getHost();
    int port = server.getPort();
    Map<String, Supplier<List<Received>>> subscribers = new LinkedHashMap<>();
    List<AutoCloseable> open = new ArrayList<>();
    try {
      List<Received> v5 = new CopyOnWriteArrayList<>();
      Mqtt5AsyncClient client5 =
          MqttClient.builder()
              .identifier("pattern-mqtt5")
              .serverHost(host)
              .serverPort(port)
              .useMqttVersion5()
              .buildAsync();
      client5.connect().get(10, TimeUnit.SECONDS);
      open.add(() -> client5.disconnect().get(10, TimeUnit.SECONDS));
      client5
          .subscribeWith()
          .topicFilter(FILTER)
          .qos(MqttQos.AT_LEAST_ONCE)
          .callback(m -> v5.add(new Received(m.getTopic().toString(), text(m.getPayloadAsBytes()))))
          .send()
          .get(10, TimeUnit.SECONDS);
      subscribers.put("MQTT 5 client", () -> v5);

      List<Received> v3 = new CopyOnWriteArrayList<>();
      Mqtt3AsyncClient client3 =
          MqttClient.builder()
              .identifier("pattern-mqtt311")
              .serverHost(host)
              .serverPort(port)
              .useMqttVersion3()
              .buildAsync();
      client3.connect().get(10, TimeUnit.SECONDS);
      open.add(() -> client3.disconnect().get(10, TimeUnit.SECONDS));
      client3
          .subscribeWith()
          .topicFilter(FILTER)
          .qos(MqttQos.AT_LEAST_ONCE)
          .callback(m -> v3.add(new Received(m.getTopic().toString(), text(m.getPayloadAsBytes()))))
          .send()
          .get(10, TimeUnit.SECONDS);
      subscribers.put("MQTT 3.1.1 client", () -> v3);

      raw(subscribers, open, "SUBSCRIBE behind CONNECT, 3.1.1", host, port, false, "paho-3", true);
      raw(subscribers, open, "SUBSCRIBE behind CONNECT, 5", host, port, true, "paho-5", true);
      raw(subscribers, open, "empty client id, 3.1.1", host, port, false, "", false);
      raw(subscribers, open, "empty client id, 5", host, port, true, "", false);

      List<AlertEvent> alerts = alerts(2, 10);
      publishWithTheJobsPublisher(serverUri, alerts);

      Map<String, List<String>> expected = byTopic(alerts);
      for (Map.Entry<String, Supplier<List<Received>>> subscriber : subscribers.entrySet()) {
        await(
            subscriber.getKey() + " to receive " + alerts.size() + " alerts",
            () -> subscriber.getValue().get().size() >= alerts.size());
        assertThat(byTopic(subscriber.getValue().get()))
            .as("%s: every alert once, in order per place", subscriber.getKey())
            .isEqualTo(expected);
      }
    } finally {
      for (AutoCloseable closeable : open) {
        closeable.close();
      }
    }
  }

  /** Connects a raw-socket subscriber and requires CONNACK 0 and SUBACK granting QoS 1. */
  private static void raw(
      Map<String, Supplier<List<Received>>> subscribers,
      List<AutoCloseable> open,
      String pattern,
      String host,
      int port,
      boolean version5,
      String clientId,
      boolean pipelined)
      throws Exception {
    RawMqttSubscriber subscriber =
        RawMqttSubscriber.subscribe(host, port, version5, clientId, pipelined, FILTER);
    open.add(subscriber);
    assertThat(subscriber.connackCode(10)).as("%s: CONNACK code", pattern).isZero();
    assertThat(subscriber.subackCode(10)).as("%s: SUBACK code (QoS 1 granted)", pattern).isOne();
    subscribers.put(pattern, subscriber::received);
  }

  /** Publishes as the job's MQTT sink does (its publisher, MQTT 5, QoS 1), one at a time. */
  private static void publishWithTheJobsPublisher(String serverUri, List<AlertEvent> alerts)
      throws Exception {
    MqttSinkSettings settings =
        new MqttSinkSettings(serverUri, "pattern-publisher", null, null, "5", 100, Duration.ZERO);
    HiveMqPublisher publisher = new HiveMqPublisher(settings, 0);
    CompletableFuture<Void> connected = new CompletableFuture<>();
    publisher.start(() -> connected.complete(null));
    try {
      connected.get(30, TimeUnit.SECONDS);
      for (AlertEvent alert : alerts) {
        publisher
            .publish(AlertJson.topic(alert), AlertJson.toJson(alert))
            .get(10, TimeUnit.SECONDS);
      }
    } finally {
      publisher.close();
    }
  }

  /** For each place, {@code perPlace} events, created and resolved in turn. */
  private static List<AlertEvent> alerts(int places, int perPlace) {
    List<AlertEvent> alerts = new ArrayList<>();
    for (int p = 0; p < places; p++) {
      String place = UUID.randomUUID().toString();
      String device = UUID.randomUUID().toString();
      for (int i = 0; i < perPlace; i++) {
        AlertEvent alert = new AlertEvent();
        alert.eventType = i % 2 == 0 ? AlertEvent.CREATED : AlertEvent.RESOLVED;
        alert.id =
            UUID.nameUUIDFromBytes((place + (i / 2)).getBytes(StandardCharsets.UTF_8)).toString();
        alert.sensorId = UUID.randomUUID().toString();
        alert.thresholdId = UUID.randomUUID().toString();
        alert.deviceId = device;
        alert.placeId = place;
        alert.key = "temperature";
        alert.value = 30 + i;
        alert.thresholdValue = 25;
        alert.thresholdType = "max";
        alert.severity = "warning";
        alert.createdAtMicros = 1_700_000_000_000_000L + i * 1_000_000L;
        alert.resolvedAtMicros = i % 2 == 0 ? null : alert.createdAtMicros + 500_000L;
        alerts.add(alert);
      }
    }
    return alerts;
  }

  private static Map<String, List<String>> byTopic(List<?> messages) {
    Map<String, List<String>> byTopic = new LinkedHashMap<>();
    for (Object message : messages) {
      String topic;
      String payload;
      if (message instanceof AlertEvent alert) {
        topic = AlertJson.topic(alert);
        payload = text(AlertJson.toJson(alert));
      } else {
        Received received = (Received) message;
        topic = received.topic();
        payload = received.payload();
      }
      byTopic.computeIfAbsent(topic, t -> new ArrayList<>()).add(payload);
    }
    return byTopic;
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
