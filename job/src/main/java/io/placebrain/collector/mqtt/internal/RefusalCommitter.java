package io.placebrain.collector.mqtt.internal;

import io.placebrain.collector.mqtt.MqttRefusal;
import java.util.Collection;
import org.apache.flink.api.connector.sink2.Committer;

/**
 * Commits nothing: a refusal's only effect is its dead letter, which the post-commit topology
 * writes once the checkpoint is complete (and again after a restore from that checkpoint, into a
 * new transaction of the dead-letter sink).
 */
public final class RefusalCommitter implements Committer<MqttRefusal> {

  @Override
  public void commit(Collection<CommitRequest<MqttRefusal>> requests) {}

  @Override
  public void close() {}
}
