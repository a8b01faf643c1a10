package io.placebrain.collector.deadletter;

import io.placebrain.collector.telemetry.KafkaRecord;

/**
 * A rejected record, or one rejected value of a record, on its way to the dead-letter topic: the
 * original bytes, where they came from, and why they were rejected.
 */
public class DeadLetter {

  public String sourceTopic;
  public int sourcePartition;
  public long sourceOffset;
  public long sourceTimestamp;
  public byte[] key;
  public byte[] value;

  /** {@link RejectReason#code()} of the reason. */
  public String reason;

  /** What exactly was wrong, for a person reading the dead-letter topic. */
  public String detail;

  /** The reading key whose value was rejected, or null when the whole record was. */
  public String readingKey;

  public DeadLetter() {}

  public static DeadLetter of(
      KafkaRecord record, RejectReason reason, String detail, String readingKey) {
    DeadLetter letter = new DeadLetter();
    letter.sourceTopic = record.topic;
    letter.sourcePartition = record.partition;
    letter.sourceOffset = record.offset;
    letter.sourceTimestamp = record.timestamp;
    letter.key = record.key;
    letter.value = record.value;
    letter.reason = reason.code();
    letter.detail = detail;
    letter.readingKey = readingKey;
    return letter;
  }

  @Override
  public String toString() {
    return sourceTopic
        + "-"
        + sourcePartition
        + "@"
        + sourceOffset
        + " "
        + reason
        + (readingKey == null ? "" : " [" + readingKey + "]")
        + ": "
        + detail;
  }
}
