package io.placebrain.collector.deadletter;

import io.placebrain.collector.mqtt.MqttRefusal;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes an alert the MQTT broker refused for good to the dead-letter topic: the MQTT topic as key,
 * the alert's JSON as value, and headers {@code collector.dlq.reason = mqtt-refused}, the MQTT
 * topic and the broker's reason code, so it can be inspected and published again once the broker
 * allows.
 */
public final class MqttRefusalDeadLetterSerializer
    implements KafkaRecordSerializationSchema<MqttRefusal> {

  public static final String REASON_CODE = "mqtt-refused";
  public static final String MQTT_TOPIC = "collector.dlq.mqtt.topic";
  public static final String MQTT_REASON_CODE = "collector.dlq.mqtt.reason-code";
  public static final String MQTT_REASON = "collector.dlq.mqtt.reason";

  private final String topic;

  public MqttRefusalDeadLetterSerializer(String topic) {
    this.topic = topic;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(
      MqttRefusal refusal, KafkaSinkContext context, Long timestamp) {
    RecordHeaders headers = new RecordHeaders();
    add(headers, DeadLetterSerializer.REASON, REASON_CODE);
    add(
        headers,
        DeadLetterSerializer.DETAIL,
        "the MQTT broker refused the alert for good: reason code "
            + refusal.reasonCodeHex()
            + " ("
            + refusal.reason
            + ")");
    add(headers, MQTT_TOPIC, refusal.topic);
    add(headers, MQTT_REASON_CODE, refusal.reasonCodeHex());
    add(headers, MQTT_REASON, refusal.reason);
    return new ProducerRecord<>(
        topic,
        null,
        null,
        refusal.topic.getBytes(StandardCharsets.UTF_8),
        refusal.payload,
        headers);
  }

  private static void add(RecordHeaders headers, String name, String value) {
    headers.add(name, value.getBytes(StandardCharsets.UTF_8));
  }
}
