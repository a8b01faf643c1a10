package io.placebrain.collector.deadletter;

import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes a dead letter to Kafka as the original key and bytes, with headers saying why it was
 * rejected and where it came from, so it can be inspected and replayed.
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {

  public static final String REASON = "collector.dlq.reason";
  public static final String DETAIL = "collector.dlq.detail";
  public static final String READING_KEY = "collector.dlq.reading-key";
  public static final String SOURCE_TOPIC = "collector.dlq.source.topic";
  public static final String SOURCE_PARTITION = "collector.dlq.source.partition";
  public static final String SOURCE_OFFSET = "collector.dlq.source.offset";
  public static final String SOURCE_TIMESTAMP = "collector.dlq.source.timestamp";

  private final String topic;

  public DeadLetterSerializer(String topic) {
    this.topic = topic;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(
      DeadLetter letter, KafkaSinkContext context, Long timestamp) {
    RecordHeaders headers = new RecordHeaders();
    add(headers, REASON, letter.reason);
    add(headers, DETAIL, letter.detail);
    if (letter.readingKey != null) {
      add(headers, READING_KEY, letter.readingKey);
    }
    add(headers, SOURCE_TOPIC, letter.sourceTopic);
    add(headers, SOURCE_PARTITION, String.valueOf(letter.sourcePartition));
    add(headers, SOURCE_OFFSET, String.valueOf(letter.sourceOffset));
    add(headers, SOURCE_TIMESTAMP, String.valueOf(letter.sourceTimestamp));
    return new ProducerRecord<>(
        topic, null, letter.sourceTimestamp, letter.key, letter.value, headers);
  }

  private static void add(RecordHeaders headers, String name, String value) {
    headers.add(name, value == null ? null : value.getBytes(StandardCharsets.UTF_8));
  }
}
