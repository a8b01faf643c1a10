package io.placebrain.collector.deadletter;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.placebrain.collector.telemetry.ReadingKeys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes a dead letter to Kafka as the original key and bytes, with headers saying why it was
 * rejected and where it came from, so it can be inspected and replayed.
 *
 * <p>A dead letter always fits: key, value and headers together stay within {@code maxRecordBytes},
 * below the producer's and the broker's default limit of 1 MiB, so a rejected record can never be
 * refused by the producer and fail the job. A record sent compressed can be larger than that once
 * decompressed; its bytes are then cut, and a header gives the original size (the source topic,
 * partition and offset still point at the whole record).
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {

  public static final String REASON = "collector.dlq.reason";
  public static final String REASONS = "collector.dlq.reasons";
  public static final String DETAIL = "collector.dlq.detail";
  public static final String READING_KEY = "collector.dlq.reading-key";
  public static final String REJECTED_VALUES = "collector.dlq.rejected-values";
  public static final String REJECTIONS = "collector.dlq.rejections";
  public static final String VALUE_TRUNCATED = "collector.dlq.value-truncated-from";
  public static final String KEY_TRUNCATED = "collector.dlq.key-truncated-from";
  public static final String SOURCE_TOPIC = "collector.dlq.source.topic";
  public static final String SOURCE_PARTITION = "collector.dlq.source.partition";
  public static final String SOURCE_OFFSET = "collector.dlq.source.offset";
  public static final String SOURCE_TIMESTAMP = "collector.dlq.source.timestamp";

  /** Below the producer's default {@code max.request.size} (1 MiB) with room for framing. */
  public static final int DEFAULT_MAX_RECORD_BYTES = 1_000_000;

  /** Longest original key kept; telemetry keys are device ids. */
  static final int MAX_KEY_BYTES = 1024;

  /** Longest detail header; every rejected value is also listed in {@link #REJECTIONS}. */
  static final int MAX_DETAIL_BYTES = 4096;

  /**
   * Above the largest headers a dead letter can have (at most {@link DeadLetter#MAX_LISTED}
   * rejections of a 128-character key and a 170-character detail, a 4 KiB detail, a 256-character
   * reading key, each character at worst an escape of 7 bytes; about 55 KB) plus a cut key:
   * whatever the value, the record fits.
   */
  public static final int MIN_RECORD_BYTES = 128 << 10;

  /** Room for the record's and batch's own framing in the producer's size estimate. */
  private static final int FRAMING_BYTES = 512;

  private static final JsonFactory JSON = new JsonFactory();

  private final String topic;
  private final int maxRecordBytes;

  public DeadLetterSerializer(String topic) {
    this(topic, DEFAULT_MAX_RECORD_BYTES);
  }

  public DeadLetterSerializer(String topic, int maxRecordBytes) {
    if (maxRecordBytes < MIN_RECORD_BYTES) {
      throw new IllegalArgumentException(
          "dead letters need at least " + MIN_RECORD_BYTES + " bytes, got " + maxRecordBytes);
    }
    this.topic = topic;
    this.maxRecordBytes = maxRecordBytes;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(
      DeadLetter letter, KafkaSinkContext context, Long timestamp) {
    RecordHeaders headers = new RecordHeaders();
    add(headers, REASON, letter.reason);
    add(headers, DETAIL, cut(letter.detail, MAX_DETAIL_BYTES));
    if (letter.readingKey != null) {
      add(headers, READING_KEY, ReadingKeys.printable(letter.readingKey, 256));
    }
    if (letter.rejectedValues > 0) {
      add(headers, REJECTED_VALUES, String.valueOf(letter.rejectedValues));
      add(headers, REASONS, distinctReasons(letter));
      add(headers, REJECTIONS, rejectionsJson(letter));
    }
    add(headers, SOURCE_TOPIC, letter.sourceTopic);
    add(headers, SOURCE_PARTITION, String.valueOf(letter.sourcePartition));
    add(headers, SOURCE_OFFSET, String.valueOf(letter.sourceOffset));
    add(headers, SOURCE_TIMESTAMP, String.valueOf(letter.sourceTimestamp));

    byte[] key = letter.key;
    if (key != null && key.length > MAX_KEY_BYTES) {
      add(headers, KEY_TRUNCATED, String.valueOf(key.length));
      key = Arrays.copyOf(key, MAX_KEY_BYTES);
    }
    byte[] value = letter.value;
    int room =
        maxRecordBytes - FRAMING_BYTES - (key == null ? 0 : key.length) - headerBytes(headers);
    if (value != null && value.length > room - 64) {
      add(headers, VALUE_TRUNCATED, String.valueOf(value.length));
      value = Arrays.copyOf(value, Math.max(0, room - 64));
    }
    // Kafka allows negative (absent) timestamps on the wire but the producer refuses them: the
    // broker then stamps the dead letter, and the source.timestamp header keeps the original.
    Long time = letter.sourceTimestamp >= 0 ? letter.sourceTimestamp : null;
    return new ProducerRecord<>(topic, null, time, key, value, headers);
  }

  private static String distinctReasons(DeadLetter letter) {
    Set<String> reasons = new LinkedHashSet<>();
    if (letter.rejectedReasons != null) {
      reasons.addAll(Arrays.asList(letter.rejectedReasons));
    }
    return String.join(",", reasons);
  }

  /** {@code [{"key": …, "reason": …, "detail": …}, …]} of the listed rejected values. */
  private static String rejectionsJson(DeadLetter letter) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator json = JSON.createGenerator(out)) {
      json.writeStartArray();
      int listed = letter.rejectedKeys == null ? 0 : letter.rejectedKeys.length;
      for (int i = 0; i < listed; i++) {
        json.writeStartObject();
        json.writeStringField("key", ReadingKeys.printable(letter.rejectedKeys[i], 128));
        json.writeStringField("reason", letter.rejectedReasons[i]);
        json.writeStringField("detail", cut(letter.rejectedDetails[i], 512));
        json.writeEndObject();
      }
      json.writeEndArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** {@code text} made printable and cut to at most about {@code maxBytes} of UTF-8. */
  private static String cut(String text, int maxBytes) {
    // Printable text is at most 3 bytes per char; escapes of control characters are ASCII.
    return text == null ? null : ReadingKeys.printable(text, maxBytes / 3);
  }

  private static int headerBytes(RecordHeaders headers) {
    int bytes = 0;
    for (Header header : headers) {
      bytes += header.key().length() + (header.value() == null ? 0 : header.value().length) + 8;
    }
    return bytes;
  }

  private static void add(RecordHeaders headers, String name, String value) {
    headers.add(name, value == null ? null : value.getBytes(StandardCharsets.UTF_8));
  }
}
