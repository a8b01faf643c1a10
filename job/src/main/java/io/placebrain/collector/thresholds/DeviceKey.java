package io.placebrain.collector.thresholds;

import io.placebrain.collector.telemetry.Reading;
import org.apache.flink.api.java.functions.KeySelector;

/** Keys readings by device id (canonical UUID text), the key of {@link ThresholdEvaluator}. */
public final class DeviceKey implements KeySelector<Reading, String> {

  @Override
  public String getKey(Reading reading) {
    return reading.deviceId().toString();
  }
}
