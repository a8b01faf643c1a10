package io.placebrain.collector.mqtt;

import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.lifecycle.LibraryRelease;
import io.placebrain.collector.mqtt.internal.MqttRefusalSerializer;
import io.placebrain.collector.mqtt.internal.RefusalCommitter;
import io.placebrain.collector.mqtt.internal.RefusalsOnly;
import java.util.Collection;
import java.util.List;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.api.connector.sink2.SupportsPostCommitTopology;
import org.apache.flink.streaming.api.datastream.DataStream;

/**
 * Publishes alert events as JSON to {@code placebrain/{place_id}/alerts} with QoS 1, at least once;
 * see {@link MqttSinkWriter}. Alerts the broker refuses for good go to {@code refusalDeadLetters}
 * once the checkpoint that dropped them from the writer's state is complete: the refusals are the
 * writer's committables, and the dead-letter sink runs after the commit, so with a transactional
 * dead-letter sink each refusal is dead-lettered exactly once.
 */
public final class MqttAlertSink
    implements Sink<AlertEvent>,
        SupportsWriterState<AlertEvent, PendingAlerts>,
        SupportsCommitter<MqttRefusal>,
        SupportsPostCommitTopology<MqttRefusal> {

  public static final String REFUSALS_UID = "alerts-mqtt-refusals";
  public static final String REFUSAL_DEAD_LETTER_SINK_UID = "alerts-mqtt-refusal-dead-letter-sink";

  private final MqttSinkSettings settings;
  private final MqttPublisher.Factory publishers;
  private final Sink<MqttRefusal> refusalDeadLetters;

  /**
   * @param refusalDeadLetters where refused alerts go; null drops them (counted and logged only)
   */
  public MqttAlertSink(MqttSinkSettings settings, Sink<MqttRefusal> refusalDeadLetters) {
    this(settings, HiveMqPublisher::new, refusalDeadLetters);
  }

  public MqttAlertSink(
      MqttSinkSettings settings,
      MqttPublisher.Factory publishers,
      Sink<MqttRefusal> refusalDeadLetters) {
    this.settings = settings;
    this.publishers = publishers;
    this.refusalDeadLetters = refusalDeadLetters;
  }

  @Override
  public SinkWriter<AlertEvent> createWriter(WriterInitContext context) {
    return restoreWriter(context, List.of());
  }

  @Override
  public StatefulSinkWriter<AlertEvent, PendingAlerts> restoreWriter(
      WriterInitContext context, Collection<PendingAlerts> state) {
    // The client's library keeps threads for the whole class loader: released with the job.
    LibraryRelease.registerFor(context.getUserCodeClassLoader());
    int subtask = context.getTaskInfo().getIndexOfThisSubtask();
    return new MqttSinkWriter(
        settings, publishers.create(settings, subtask), state, context.metricGroup());
  }

  @Override
  public SimpleVersionedSerializer<PendingAlerts> getWriterStateSerializer() {
    return new PendingAlertsSerializer();
  }

  @Override
  public Committer<MqttRefusal> createCommitter(CommitterInitContext context) {
    return new RefusalCommitter();
  }

  @Override
  public SimpleVersionedSerializer<MqttRefusal> getCommittableSerializer() {
    return new MqttRefusalSerializer();
  }

  @Override
  public void addPostCommitTopology(DataStream<CommittableMessage<MqttRefusal>> committables) {
    if (refusalDeadLetters == null) {
      return;
    }
    committables
        .flatMap(new RefusalsOnly())
        .uid(REFUSALS_UID)
        .name("Refused alerts")
        .sinkTo(refusalDeadLetters)
        .uid(REFUSAL_DEAD_LETTER_SINK_UID)
        .name("Refused alert dead letters (Kafka)");
  }
}
