package io.placebrain.collector.job;

import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.telemetry.KafkaRecord;
import io.placebrain.collector.telemetry.Reading;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;

/**
 * The sources and sinks the job is wired from. Production builds them from the configuration
 * ({@link CollectorJob#parts}); tests replace or wrap any of them.
 */
public record PipelineParts(
    Source<KafkaRecord, ?, ?> telemetrySource,
    Source<KafkaRecord, ?, ?> controlSource,
    Sink<Reading> readingsSink,
    Sink<DeadLetter> telemetryDeadLetters,
    Sink<DeadLetter> controlDeadLetters,
    Sink<AlertEvent> alertsTable,
    Sink<AlertEvent> alertsMqtt) {

  public PipelineParts withTelemetrySource(Source<KafkaRecord, ?, ?> source) {
    return new PipelineParts(
        source,
        controlSource,
        readingsSink,
        telemetryDeadLetters,
        controlDeadLetters,
        alertsTable,
        alertsMqtt);
  }

  public PipelineParts withReadingsSink(Sink<Reading> sink) {
    return new PipelineParts(
        telemetrySource,
        controlSource,
        sink,
        telemetryDeadLetters,
        controlDeadLetters,
        alertsTable,
        alertsMqtt);
  }
}
