package io.placebrain.collector.job;

import io.placebrain.collector.control.ControlEvent;
import io.placebrain.collector.control.ControlEventParseFunction;
import io.placebrain.collector.control.ControlTopics;
import io.placebrain.collector.telemetry.ParserSettings;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.telemetry.TelemetryParseFunction;
import io.placebrain.collector.thresholds.AlertSettings;
import io.placebrain.collector.thresholds.DeviceDeletionMarkers;
import io.placebrain.collector.thresholds.DeviceKey;
import io.placebrain.collector.thresholds.ThresholdEvaluator;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.streaming.api.datastream.BroadcastStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The job's topology:
 *
 * <pre>
 * telemetry ─► parse/validate ──────────────────┬─► keyBy(device) ─► evaluate ─► COPY sink ─► readings
 * devices.* ─► control events ─┬─► markers ─────┘                       ▲  └─► alerts ─► alerts table, MQTT
 *                              └─► broadcast ───────────────────────────┘
 * rejected records ─► dead-letter topics
 * </pre>
 *
 * Readings pass the evaluator before they are stored, so readings of a deleted device still in
 * flight are dropped, and the device's deletion follows its last readings into the sink. Control
 * events are read and parsed by one task, so every evaluator instance sees them in the same order.
 * Every operator has a stable uid (savepoints survive upgrades) and a readable name (the web UI
 * reads like this picture).
 */
public final class ReadingsPipeline {

  public static final String SOURCE_UID = "telemetry-source";
  public static final String PARSE_UID = "telemetry-parse";
  public static final String CONTROL_SOURCE_UID = "control-source";
  public static final String CONTROL_PARSE_UID = "control-parse";
  public static final String DELETION_MARKERS_UID = "device-deletion-markers";
  public static final String EVALUATOR_UID = "threshold-evaluator";
  public static final String READINGS_SINK_UID = "readings-copy-sink";
  public static final String DEAD_LETTER_SINK_UID = "telemetry-dead-letter-sink";
  public static final String CONTROL_DEAD_LETTER_SINK_UID = "control-dead-letter-sink";
  public static final String ALERTS_TABLE_SINK_UID = "alerts-table-sink";
  public static final String ALERTS_MQTT_SINK_UID = "alerts-mqtt-sink";

  private ReadingsPipeline() {}

  /**
   * Adds the whole topology to {@code env}.
   *
   * @param beforeSink applied to the readings just before the COPY sink: identity in production
   */
  public static void attach(
      StreamExecutionEnvironment env,
      PipelineParts parts,
      ParserSettings parserSettings,
      ControlTopics controlTopics,
      AlertSettings alertSettings,
      UnaryOperator<DataStream<Reading>> beforeSink) {
    SingleOutputStreamOperator<Reading> readings =
        env.fromSource(
                parts.telemetrySource(), WatermarkStrategy.noWatermarks(), "Telemetry (Kafka)")
            .uid(SOURCE_UID)
            .process(new TelemetryParseFunction(parserSettings))
            .uid(PARSE_UID)
            .name("Parse and validate telemetry");
    readings
        .getSideOutput(TelemetryParseFunction.DEAD_LETTERS)
        .sinkTo(parts.telemetryDeadLetters())
        .uid(DEAD_LETTER_SINK_UID)
        .name("Telemetry dead letters (Kafka)");

    SingleOutputStreamOperator<ControlEvent> control =
        env.fromSource(
                parts.controlSource(), WatermarkStrategy.noWatermarks(), "Device events (Kafka)")
            .uid(CONTROL_SOURCE_UID)
            .setParallelism(1)
            .process(new ControlEventParseFunction(controlTopics))
            .uid(CONTROL_PARSE_UID)
            .name("Parse device events")
            .setParallelism(1);
    control
        .getSideOutput(ControlEventParseFunction.DEAD_LETTERS)
        .sinkTo(parts.controlDeadLetters())
        .uid(CONTROL_DEAD_LETTER_SINK_UID)
        .name("Device event dead letters (Kafka)")
        .setParallelism(1);
    BroadcastStream<ControlEvent> thresholds =
        control.broadcast(
            ThresholdEvaluator.BROADCAST_STATES.toArray(new MapStateDescriptor<?, ?>[0]));

    // Each deleted device's marker goes to the evaluator instance that holds the device's state.
    DataStream<Reading> deletionMarkers =
        control
            .flatMap(new DeviceDeletionMarkers())
            .uid(DELETION_MARKERS_UID)
            .name("Device deletion markers")
            .setParallelism(1);

    SingleOutputStreamOperator<Reading> evaluated =
        readings
            .union(deletionMarkers)
            .keyBy(new DeviceKey())
            .connect(thresholds)
            .process(new ThresholdEvaluator(alertSettings))
            .uid(EVALUATOR_UID)
            .name("Evaluate thresholds");

    beforeSink
        .apply(evaluated)
        .sinkTo(parts.readingsSink())
        .uid(READINGS_SINK_UID)
        .name("Readings (COPY into PostgreSQL)");

    DataStream<io.placebrain.collector.alerts.AlertEvent> alerts =
        evaluated.getSideOutput(ThresholdEvaluator.ALERTS);
    alerts.sinkTo(parts.alertsTable()).uid(ALERTS_TABLE_SINK_UID).name("Alerts (PostgreSQL)");
    alerts.sinkTo(parts.alertsMqtt()).uid(ALERTS_MQTT_SINK_UID).name("Alerts (MQTT)");
  }
}
