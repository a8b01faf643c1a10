package io.placebrain.collector.telemetry;

/**
 * A telemetry record as it came from Kafka, before parsing: the raw bytes and where they came from,
 * so a rejected record can be dead-lettered with its origin.
 */
public class KafkaRecord {

  public String topic;
  public int partition;
  public long offset;
  public long timestamp;
  public byte[] key;
  public byte[] value;

  public KafkaRecord() {}

  public KafkaRecord(
      String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.timestamp = timestamp;
    this.key = key;
    this.value = value;
  }

  @Override
  public String toString() {
    return topic + "-" + partition + "@" + offset;
  }
}
