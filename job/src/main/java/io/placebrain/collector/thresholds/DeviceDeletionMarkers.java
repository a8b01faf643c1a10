package io.placebrain.collector.thresholds;

import io.placebrain.collector.control.ControlEvent;
import io.placebrain.collector.telemetry.Reading;
import java.util.UUID;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.util.Collector;

/**
 * One deletion marker ({@link Reading#deletionOf}) per device a control event deletes. The markers
 * join the readings before {@code keyBy(device)}, so each reaches the one {@link
 * ThresholdEvaluator} instance that holds its device's state, which clears that state alone and
 * passes the marker on to the sink behind the device's readings. A deletion's cost therefore does
 * not grow with the number of devices in state.
 */
public final class DeviceDeletionMarkers implements FlatMapFunction<ControlEvent, Reading> {

  @Override
  public void flatMap(ControlEvent event, Collector<Reading> out) {
    for (String device : event.deletedDevices()) {
      out.collect(Reading.deletionOf(UUID.fromString(device)));
    }
  }
}
