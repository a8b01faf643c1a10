package io.placebrain.collector.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The shared MQTT broker delivers QoS 1 messages, and a recorder survives a broker restart. */
class MqttRoundTripITCase {

  private final TestMqttBroker broker = TestServices.mqtt();

  @Test
  void recorderSeesPublishedMessages() throws Exception {
    String place = UUID.randomUUID().toString();
    try (MqttRecorder recorder = MqttRecorder.subscribe(broker, "placebrain/" + place + "/#")) {
      Mqtt3BlockingClient publisher = publisher();
      publisher.connect();
      for (int i = 0; i < 3; i++) {
        publish(publisher, "placebrain/" + place + "/alerts", "{\"n\":" + i + "}");
      }
      publish(publisher, "placebrain/elsewhere/alerts", "{\"n\":99}");
      publisher.disconnect();

      List<MqttRecorder.Received> received = recorder.await(3, Duration.ofSeconds(10));
      assertThat(received)
          .extracting(MqttRecorder.Received::payload)
          .containsExactly("{\"n\":0}", "{\"n\":1}", "{\"n\":2}");
      assertThat(received)
          .allSatisfy(
              m -> {
                assertThat(m.topic()).isEqualTo("placebrain/" + place + "/alerts");
                assertThat(m.qos()).isEqualTo(1);
              });
    }
  }

  @Test
  void brokerCanBeStoppedAndStartedAgain() throws Exception {
    String topic = "placebrain/" + UUID.randomUUID() + "/alerts";
    try (MqttRecorder recorder = MqttRecorder.subscribe(broker, topic)) {
      broker.stop();
      try {
        assertThatThrownBy(() -> publisher().connect()).isNotNull();
      } finally {
        broker.start();
      }

      Mqtt3BlockingClient publisher = publisher();
      publisher.connect();
      // The recorder reconnects and subscribes again by itself; publish until it is back.
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (recorder.received().isEmpty() && System.nanoTime() < deadline) {
        publish(publisher, topic, "after-restart");
        recorder.await(1, Duration.ofMillis(200));
      }
      publisher.disconnect();

      assertThat(recorder.received())
          .isNotEmpty()
          .allSatisfy(m -> assertThat(m.payload()).isEqualTo("after-restart"));
    }
  }

  @Test
  void newSubscribersAfterARestartReceiveMessages() throws Exception {
    broker.stop();
    broker.start();
    String topic = "placebrain/" + UUID.randomUUID() + "/alerts";
    try (MqttRecorder recorder = MqttRecorder.subscribe(broker, topic)) {
      Mqtt3BlockingClient publisher = publisher();
      publisher.connect();
      publish(publisher, topic, "fresh");
      publisher.disconnect();

      assertThat(recorder.await(1, Duration.ofSeconds(10)))
          .extracting(MqttRecorder.Received::payload)
          .containsExactly("fresh");
    }
  }

  private Mqtt3BlockingClient publisher() {
    return MqttClient.builder()
        .useMqttVersion3()
        .identifier("publisher-" + UUID.randomUUID())
        .serverHost(broker.host())
        .serverPort(broker.port())
        .buildBlocking();
  }

  private static void publish(Mqtt3BlockingClient client, String topic, String payload) {
    client
        .publishWith()
        .topic(topic)
        .qos(MqttQos.AT_LEAST_ONCE)
        .payload(payload.getBytes(StandardCharsets.UTF_8))
        .send();
  }
}
