package io.placebrain.collector.thresholds;

import java.io.Serializable;
import java.time.Duration;

/**
 * How alerts are raised, beyond the reference behaviour (both off by default).
 *
 * @param deadband a violation ends only when the value clears the threshold by this margin
 * @param minDuration a violation raises an alert only once it has lasted this long (by reading
 *     time): readings that violate for a shorter time raise nothing
 * @param tombstoneRetention how long a deleted device is remembered, so readings still in flight
 *     are dropped
 * @param idleSensorRetention the newest-reading time of a sensor that stops reporting is dropped
 *     after this long without a reading (a violation shorter than {@code minDuration} then begins
 *     again); an active alert is never dropped
 */
public record AlertSettings(
    double deadband,
    Duration minDuration,
    Duration tombstoneRetention,
    Duration idleSensorRetention)
    implements Serializable {

  public static final AlertSettings DEFAULTS =
      new AlertSettings(0, Duration.ZERO, Duration.ofDays(7), Duration.ofDays(30));

  public AlertSettings {
    if (deadband < 0 || !Double.isFinite(deadband)) {
      throw new IllegalArgumentException("deadband must be a finite number >= 0, got " + deadband);
    }
    if (minDuration.isNegative()) {
      throw new IllegalArgumentException("minDuration must not be negative");
    }
  }
}
