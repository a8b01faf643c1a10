package io.placebrain.collector.local.simulator;

import java.util.UUID;

/**
 * One sensor of a simulated device: a value swinging around {@code base} by {@code amplitude}, and
 * a threshold its peaks (or troughs) cross, so alerts are raised and resolved about once a swing.
 */
record SimulatedSensor(
    UUID sensorId,
    UUID thresholdId,
    String key,
    double base,
    double amplitude,
    String thresholdType,
    double thresholdValue,
    String severity,
    double phase) {

  /** The value at {@code fraction} of a swing (0 to 1), with a little noise. */
  double valueAt(double fraction, double noise) {
    return base + amplitude * Math.sin(2 * Math.PI * fraction + phase) + noise;
  }
}
