package io.placebrain.collector.deadletter;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.telemetry.KafkaRecord;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.Test;

class DeadLetterSerializerTest {

  private final DeadLetterSerializer serializer = new DeadLetterSerializer("dlq");

  @Test
  void aRecordFarAboveTheProducerLimitIsCutToFitAndSaysSo() {
    byte[] huge = new byte[3 << 20];
    Arrays.fill(huge, (byte) 'x');
    byte[] hugeKey = new byte[50_000];
    KafkaRecord record = new KafkaRecord("telemetry.readings", 2, 99, 1234L, hugeKey, huge);

    ProducerRecord<byte[], byte[]> out =
        serializer.serialize(
            DeadLetter.of(record, RejectReason.TOO_LARGE, "too large", null), null, null);

    // The producer refuses a record whose estimated size exceeds max.request.size (1 MiB).
    int estimated =
        AbstractRecords.estimateSizeInBytesUpperBound(
            RecordBatch.CURRENT_MAGIC_VALUE,
            Compression.NONE.type(),
            out.key(),
            out.value(),
            out.headers().toArray());
    assertThat(estimated).isLessThanOrEqualTo(DeadLetterSerializer.DEFAULT_MAX_RECORD_BYTES);
    assertThat(header(out, DeadLetterSerializer.VALUE_TRUNCATED)).isEqualTo("" + huge.length);
    assertThat(header(out, DeadLetterSerializer.KEY_TRUNCATED)).isEqualTo("50000");
    assertThat(out.value()).hasSizeGreaterThan(900_000);
    assertThat(header(out, DeadLetterSerializer.SOURCE_OFFSET)).isEqualTo("99");
  }

  @Test
  void theLargestHeadersStillFitTheSmallestBudget() {
    // Every listed rejection with the longest key and detail, each character the widest escape.
    String wide = "\u0001".repeat(5000);
    String[] keys = new String[DeadLetter.MAX_LISTED];
    RejectReason[] reasons = new RejectReason[DeadLetter.MAX_LISTED];
    String[] details = new String[DeadLetter.MAX_LISTED];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = wide;
      reasons[i] = RejectReason.INVALID_KEY;
      details[i] = wide;
    }
    KafkaRecord record =
        new KafkaRecord("telemetry.readings", 0, 1, 5L, new byte[5000], new byte[1 << 20]);
    DeadLetter letter = DeadLetter.ofValues(record, keys, reasons, details, 20, 20);

    ProducerRecord<byte[], byte[]> out =
        new DeadLetterSerializer("dlq", DeadLetterSerializer.MIN_RECORD_BYTES)
            .serialize(letter, null, null);

    assertThat(estimatedSize(out)).isLessThanOrEqualTo(DeadLetterSerializer.MIN_RECORD_BYTES);
    assertThat(header(out, DeadLetterSerializer.VALUE_TRUNCATED)).isEqualTo("" + (1 << 20));
  }

  @Test
  void anAbsentSourceTimestampLeavesTheTimestampToTheBroker() {
    // Other clients may write -1 (no timestamp); Java's producer refuses a negative one.
    KafkaRecord record = new KafkaRecord("telemetry.readings", 0, 1, -1L, null, new byte[3]);

    ProducerRecord<byte[], byte[]> out =
        serializer.serialize(
            DeadLetter.of(record, RejectReason.TIMESTAMP_OUT_OF_RANGE, "1969", null), null, null);

    assertThat(out.timestamp()).isNull();
    assertThat(header(out, DeadLetterSerializer.SOURCE_TIMESTAMP)).isEqualTo("-1");
  }

  private static int estimatedSize(ProducerRecord<byte[], byte[]> out) {
    return AbstractRecords.estimateSizeInBytesUpperBound(
        RecordBatch.CURRENT_MAGIC_VALUE,
        Compression.NONE.type(),
        out.key(),
        out.value(),
        out.headers().toArray());
  }

  @Test
  void aSmallRecordIsKeptWhole() {
    byte[] value = "{\"not\": json".getBytes(StandardCharsets.UTF_8);
    KafkaRecord record = new KafkaRecord("telemetry.readings", 0, 1, 5L, null, value);

    ProducerRecord<byte[], byte[]> out =
        serializer.serialize(
            DeadLetter.of(record, RejectReason.NOT_JSON, "broken", null), null, null);

    assertThat(out.value()).isEqualTo(value);
    assertThat(out.headers().lastHeader(DeadLetterSerializer.VALUE_TRUNCATED)).isNull();
    assertThat(header(out, DeadLetterSerializer.REASON)).isEqualTo("not-json");
  }

  @Test
  void rejectedValuesAreListedInOneRecordWithTheirReasons() {
    KafkaRecord record = new KafkaRecord("telemetry.readings", 0, 1, 5L, null, new byte[10]);
    DeadLetter letter =
        DeadLetter.ofValues(
            record,
            new String[] {"a\u0000b", "c"},
            new RejectReason[] {RejectReason.INVALID_KEY, RejectReason.INVALID_VALUE},
            new String[] {"NUL in key", "not a number"},
            2,
            7);

    ProducerRecord<byte[], byte[]> out = serializer.serialize(letter, null, null);

    assertThat(header(out, DeadLetterSerializer.REJECTED_VALUES)).isEqualTo("7");
    assertThat(header(out, DeadLetterSerializer.REASONS)).isEqualTo("invalid-key,invalid-value");
    assertThat(header(out, DeadLetterSerializer.READING_KEY)).isEqualTo("a\\u0000b");
    assertThat(header(out, DeadLetterSerializer.REJECTIONS))
        .isEqualTo(
            "[{\"key\":\"a\\\\u0000b\",\"reason\":\"invalid-key\",\"detail\":\"NUL in key\"},"
                + "{\"key\":\"c\",\"reason\":\"invalid-value\",\"detail\":\"not a number\"}]");
    assertThat(header(out, DeadLetterSerializer.DETAIL))
        .isEqualTo("7 values rejected: NUL in key; not a number; and 5 more");
  }

  private static String header(ProducerRecord<byte[], byte[]> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }
}
