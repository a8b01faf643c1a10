package io.placebrain.collector.telemetry;

import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.lifecycle.LibraryRelease;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Turns raw telemetry records into readings; everything rejected goes to the {@link #DEAD_LETTERS}
 * side output with its reason. Counts records, readings and rejections.
 */
public final class TelemetryParseFunction extends ProcessFunction<KafkaRecord, Reading> {

  public static final OutputTag<DeadLetter> DEAD_LETTERS =
      new OutputTag<>("telemetry-dead-letters") {};

  private final ParserSettings settings;

  private transient TelemetryParser parser;
  private transient Counter records;
  private transient Counter readings;
  private transient Counter rejected;

  public TelemetryParseFunction(ParserSettings settings) {
    this.settings = settings;
  }

  @Override
  public void open(OpenContext openContext) {
    LibraryRelease.registerFor(getRuntimeContext());
    parser = new TelemetryParser(settings);
    var metrics = getRuntimeContext().getMetricGroup();
    records = metrics.counter("telemetryRecords");
    readings = metrics.counter("telemetryReadings");
    rejected = metrics.counter("telemetryRejected");
  }

  @Override
  public void processElement(KafkaRecord record, Context context, Collector<Reading> out) {
    records.inc();
    parser.parse(
        record,
        new TelemetryOutput() {
          @Override
          public void reading(Reading reading) {
            readings.inc();
            out.collect(reading);
          }

          @Override
          public void rejected(DeadLetter deadLetter) {
            rejected.inc();
            context.output(DEAD_LETTERS, deadLetter);
          }
        });
  }
}
