package io.placebrain.collector.mqtt;

import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.alerts.AlertJson;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes alert events with QoS 1 and keeps every message until the broker acknowledges it.
 *
 * <p>At a checkpoint the writer waits (up to the ack timeout) for the acknowledgements of what it
 * sent; whatever is still unacknowledged — all of it while the broker is down — goes into the
 * checkpoint and is sent again after a restart. So every alert reaches the broker at least once
 * (alert ids are deterministic, so consumers can drop a repeat), and a broker outage never stalls
 * the job: messages wait, bounded by {@code maxPending} (beyond it the oldest are dropped and
 * counted), and go out in order once the client has reconnected.
 *
 * <p>Acknowledgements arrive on the client's threads, so the pending messages are guarded by this
 * writer's monitor.
 */
public final class MqttSinkWriter implements StatefulSinkWriter<AlertEvent, PendingAlerts> {

  private static final Logger LOG = LoggerFactory.getLogger(MqttSinkWriter.class);

  private final MqttSinkSettings settings;
  private final MqttPublisher publisher;

  /** Unacknowledged messages by sequence number, oldest first. */
  private final LinkedHashMap<Long, PendingAlerts.Message> pending = new LinkedHashMap<>();

  /** Sequence numbers sent and awaiting their acknowledgement. */
  private final Set<Long> inFlight = new HashSet<>();

  private final Counter published;
  private final Counter dropped;
  private long nextSequence;

  public MqttSinkWriter(
      MqttSinkSettings settings,
      MqttPublisher publisher,
      Collection<PendingAlerts> restored,
      MetricGroup metrics) {
    this.settings = settings;
    this.publisher = publisher;
    this.published = metrics.counter("mqttPublished");
    this.dropped = metrics.counter("mqttDropped");
    metrics.gauge("mqttPending", this::pendingCount);
    for (PendingAlerts state : restored) {
      for (PendingAlerts.Message message : state.messages()) {
        pending.put(nextSequence++, message);
      }
    }
    publisher.start(this::sendPending);
  }

  @Override
  public void write(AlertEvent alert, Context context) {
    PendingAlerts.Message message =
        new PendingAlerts.Message(AlertJson.topic(alert), AlertJson.toJson(alert));
    synchronized (this) {
      if (pending.size() >= settings.maxPending()) {
        Iterator<Map.Entry<Long, PendingAlerts.Message>> oldest = pending.entrySet().iterator();
        long sequence = oldest.next().getKey();
        oldest.remove();
        inFlight.remove(sequence);
        dropped.inc();
        LOG.warn(
            "{} MQTT alerts wait for the broker; dropped the oldest (limit mqtt.max-pending)",
            settings.maxPending());
      }
      pending.put(nextSequence++, message);
    }
    sendPending();
  }

  /**
   * Sends every pending message not yet in flight, oldest first, if connected. Publishing happens
   * outside the monitor: an acknowledgement may complete on this very thread.
   */
  private void sendPending() {
    List<Map.Entry<Long, PendingAlerts.Message>> toSend = new ArrayList<>();
    synchronized (this) {
      if (!publisher.isConnected()) {
        return;
      }
      for (Map.Entry<Long, PendingAlerts.Message> entry : pending.entrySet()) {
        if (inFlight.add(entry.getKey())) {
          toSend.add(Map.entry(entry.getKey(), entry.getValue()));
        }
      }
    }
    for (Map.Entry<Long, PendingAlerts.Message> entry : toSend) {
      long sequence = entry.getKey();
      publisher
          .publish(entry.getValue().topic(), entry.getValue().payload())
          .whenComplete((ok, failure) -> acknowledged(sequence, failure));
    }
  }

  private synchronized void acknowledged(long sequence, Throwable failure) {
    inFlight.remove(sequence);
    if (failure == null) {
      if (pending.remove(sequence) != null) {
        published.inc();
      }
    } else {
      // Stays pending; sent again when the client is connected (again).
      LOG.debug("MQTT publish {} not acknowledged: {}", sequence, failure.toString());
    }
    notifyAll();
  }

  @Override
  public void flush(boolean endOfInput) throws InterruptedException {
    sendPending();
    long deadline = System.nanoTime() + settings.ackTimeout().toNanos();
    synchronized (this) {
      while (!inFlight.isEmpty() && publisher.isConnected()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
      }
    }
  }

  @Override
  public synchronized List<PendingAlerts> snapshotState(long checkpointId) {
    if (pending.isEmpty()) {
      return List.of();
    }
    return List.of(new PendingAlerts(new ArrayList<>(pending.values())));
  }

  synchronized int pendingCount() {
    return pending.size();
  }

  @Override
  public void close() {
    publisher.close();
  }
}
