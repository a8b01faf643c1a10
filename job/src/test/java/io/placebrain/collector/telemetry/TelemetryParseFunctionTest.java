package io.placebrain.collector.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.deadletter.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The parse operator in Flink's operator harness: readings out, rejections to the side output. */
class TelemetryParseFunctionTest {

  @Test
  void emitsReadingsAndSendsRejectionsToTheSideOutput() throws Exception {
    try (OneInputStreamOperatorTestHarness<KafkaRecord, Reading> harness =
        new OneInputStreamOperatorTestHarness<>(
            new ProcessOperator<>(new TelemetryParseFunction(ParserSettings.DEFAULTS)))) {
      harness.open();
      long now = Instant.now().toEpochMilli();
      harness.processElement(
          new StreamRecord<>(
              record(
                  "{\"place_id\": \"6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e\", \"device_id\":"
                      + " \"0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b\", \"payload\": {\"values\":"
                      + " {\"a\": 1, \"b\": \"x\"}}}",
                  now)));
      harness.processElement(new StreamRecord<>(record("garbage", now)));

      assertThat(harness.extractOutputValues()).extracting(r -> r.key).containsExactly("a");
      assertThat(harness.getSideOutput(TelemetryParseFunction.DEAD_LETTERS))
          .extracting(r -> ((StreamRecord<DeadLetter>) r).getValue().reason)
          .containsExactly("invalid-value", "not-json");
    }
  }

  private static KafkaRecord record(String json, long timestamp) {
    return new KafkaRecord(
        "telemetry.readings", 0, 1, timestamp, null, json.getBytes(StandardCharsets.UTF_8));
  }
}
