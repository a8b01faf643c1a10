package io.placebrain.collector.telemetry;

import io.placebrain.collector.deadletter.DeadLetter;

/** Where the parser puts what it found in one record. */
public interface TelemetryOutput {

  void reading(Reading reading);

  void rejected(DeadLetter deadLetter);
}
