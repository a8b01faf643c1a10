package io.placebrain.collector.job;

import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.telemetry.KafkaRecord;
import io.placebrain.collector.telemetry.ParserSettings;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.telemetry.TelemetryParseFunction;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The readings path: telemetry source → parse and validate → COPY sink into {@code readings}, with
 * rejected records going to the dead-letter sink. Sources and sinks come in as arguments, so tests
 * run the same topology against their own services and can wrap the stream before the sink. Every
 * operator has a stable uid (savepoints survive upgrades) and a readable name (the web UI's graph
 * reads like this comment).
 */
public final class ReadingsPipeline {

  public static final String SOURCE_UID = "telemetry-source";
  public static final String PARSE_UID = "telemetry-parse";
  public static final String READINGS_SINK_UID = "readings-copy-sink";
  public static final String DEAD_LETTER_SINK_UID = "telemetry-dead-letter-sink";

  private ReadingsPipeline() {}

  /**
   * Adds the readings path to {@code env} and returns the stream of valid readings (before the
   * sink), for further processing such as threshold evaluation.
   *
   * @param beforeSink applied to the readings just before the sink: identity in production
   */
  public static DataStream<Reading> attach(
      StreamExecutionEnvironment env,
      Source<KafkaRecord, ?, ?> telemetrySource,
      ParserSettings parserSettings,
      Sink<Reading> readingsSink,
      Sink<DeadLetter> deadLetterSink,
      UnaryOperator<DataStream<Reading>> beforeSink) {
    SingleOutputStreamOperator<Reading> readings =
        env.fromSource(telemetrySource, WatermarkStrategy.noWatermarks(), "Telemetry (Kafka)")
            .uid(SOURCE_UID)
            .process(new TelemetryParseFunction(parserSettings))
            .uid(PARSE_UID)
            .name("Parse and validate telemetry");

    readings
        .getSideOutput(TelemetryParseFunction.DEAD_LETTERS)
        .sinkTo(deadLetterSink)
        .uid(DEAD_LETTER_SINK_UID)
        .name("Dead letters (Kafka)");

    beforeSink
        .apply(readings)
        .sinkTo(readingsSink)
        .uid(READINGS_SINK_UID)
        .name("Readings (COPY into PostgreSQL)");
    return readings;
  }
}
