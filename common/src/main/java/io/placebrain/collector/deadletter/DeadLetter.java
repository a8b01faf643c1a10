package io.placebrain.collector.deadletter;

import io.placebrain.collector.telemetry.KafkaRecord;
import java.util.Arrays;

/**
 * A rejected record on its way to the dead-letter topic: the original bytes, where they came from,
 * and why they were rejected. There is at most one dead letter per input record: a record whose
 * values were rejected one by one carries every rejected value's key and reason (the first {@link
 * #MAX_LISTED}, and the count of all).
 */
public class DeadLetter {

  /** Rejected values listed one by one; beyond this only their number is kept. */
  public static final int MAX_LISTED = 20;

  public String sourceTopic;
  public int sourcePartition;
  public long sourceOffset;
  public long sourceTimestamp;
  public byte[] key;
  public byte[] value;

  /** {@link RejectReason#code()} of the reason, or of the first rejected value's reason. */
  public String reason;

  /** What exactly was wrong, for a person reading the dead-letter topic. */
  public String detail;

  /** The first rejected value's reading key, or null when the whole record was rejected. */
  public String readingKey;

  /** How many values of the record were rejected; 0 when the whole record was. */
  public int rejectedValues;

  /** Keys, reason codes and details of the first rejected values (at most {@link #MAX_LISTED}). */
  public String[] rejectedKeys;

  public String[] rejectedReasons;
  public String[] rejectedDetails;

  public DeadLetter() {}

  /** The whole record is rejected. */
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

  /**
   * Some values of the record are rejected (the others are stored): one dead letter for all of
   * them. The arrays hold the first {@code listed} of {@code total} rejected values.
   */
  public static DeadLetter ofValues(
      KafkaRecord record,
      String[] keys,
      RejectReason[] reasons,
      String[] details,
      int listed,
      int total) {
    int shown = Math.min(Math.min(listed, MAX_LISTED), total);
    DeadLetter letter = of(record, reasons[0], null, keys[0]);
    letter.rejectedValues = total;
    letter.rejectedKeys = Arrays.copyOf(keys, shown);
    letter.rejectedReasons = new String[shown];
    letter.rejectedDetails = Arrays.copyOf(details, shown);
    StringBuilder summary =
        new StringBuilder()
            .append(total)
            .append(total == 1 ? " value" : " values")
            .append(" rejected: ");
    for (int i = 0; i < shown; i++) {
      letter.rejectedReasons[i] = reasons[i].code();
      summary.append(i == 0 ? "" : "; ").append(details[i]);
    }
    if (total > shown) {
      summary.append("; and ").append(total - shown).append(" more");
    }
    letter.detail = summary.toString();
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
