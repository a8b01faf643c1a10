package io.placebrain.collector.thresholds;

import io.placebrain.collector.control.ControlEvent;

/** A threshold on one sensor (device and key), as held in broadcast state. */
public class Threshold {

  public String thresholdId;
  public String sensorId;
  public String deviceId;
  public String key;

  /** {@code min} or {@code max}. */
  public String type;

  public double value;

  /** {@code warning} or {@code critical}. */
  public String severity;

  public Threshold() {}

  public static Threshold of(ControlEvent created) {
    Threshold threshold = new Threshold();
    threshold.thresholdId = created.thresholdId;
    threshold.sensorId = created.sensorId;
    threshold.deviceId = created.deviceId;
    threshold.key = created.key;
    threshold.type = created.thresholdType;
    threshold.value = created.value;
    threshold.severity = created.severity;
    return threshold;
  }

  public boolean isMax() {
    return "max".equals(type);
  }

  /** {@code max} is violated above its value, {@code min} below it. */
  public boolean violatedBy(double reading) {
    return isMax() ? reading > value : reading < value;
  }

  /**
   * Whether a reading ends a violation. With a deadband the reading must clear the threshold by
   * that margin, so a value hovering at the threshold does not raise and resolve alert after alert.
   */
  public boolean clearedBy(double reading, double deadband) {
    return isMax() ? reading <= value - deadband : reading >= value + deadband;
  }

  /** The broadcast-state key of a sensor: device and reading key. */
  public static String sensorKey(String deviceId, String key) {
    return deviceId + '/' + key;
  }

  @Override
  public String toString() {
    return type + " " + value + " (" + severity + ") on " + deviceId + "/" + key;
  }
}
