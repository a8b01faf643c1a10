package io.placebrain.collector.mqtt.internal;

import io.placebrain.collector.mqtt.MqttRefusal;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.api.connector.sink2.CommittableWithLineage;
import org.apache.flink.util.Collector;

/** The committed refusals, without the committer's per-checkpoint summaries. */
public final class RefusalsOnly
    implements FlatMapFunction<CommittableMessage<MqttRefusal>, MqttRefusal> {

  @Override
  public void flatMap(CommittableMessage<MqttRefusal> message, Collector<MqttRefusal> out) {
    if (message instanceof CommittableWithLineage<MqttRefusal> committed) {
      out.collect(committed.getCommittable());
    }
  }
}
