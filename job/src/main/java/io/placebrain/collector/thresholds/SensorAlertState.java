package io.placebrain.collector.thresholds;

/**
 * Where one threshold of one sensor stands: violated since when, and the alert raised for it if
 * any. Absent from state while the sensor is within its threshold.
 */
public class SensorAlertState {

  /** Reading time (microseconds) the current violation began. */
  public long violationStartMicros;

  /** Whether an alert was raised (the violation lasted long enough). */
  public boolean alertActive;

  public String alertId;
  public long createdAtMicros;
  public double triggerValue;
  public String placeId;

  public SensorAlertState() {}
}
