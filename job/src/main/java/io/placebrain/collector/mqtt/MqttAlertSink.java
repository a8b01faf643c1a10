package io.placebrain.collector.mqtt;

import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.lifecycle.LibraryRelease;
import java.util.Collection;
import java.util.List;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Publishes alert events as JSON to {@code placebrain/{place_id}/alerts} with QoS 1, at least once;
 * see {@link MqttSinkWriter}.
 */
public final class MqttAlertSink
    implements Sink<AlertEvent>, SupportsWriterState<AlertEvent, PendingAlerts> {

  private final MqttSinkSettings settings;
  private final MqttPublisher.Factory publishers;

  public MqttAlertSink(MqttSinkSettings settings) {
    this(settings, HiveMqPublisher::new);
  }

  public MqttAlertSink(MqttSinkSettings settings, MqttPublisher.Factory publishers) {
    this.settings = settings;
    this.publishers = publishers;
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
}
