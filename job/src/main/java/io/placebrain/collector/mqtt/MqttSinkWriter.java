package io.placebrain.collector.mqtt;

import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.alerts.AlertJson;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes alert events with QoS 1 and keeps every message until the broker acknowledges it.
 *
 * <p><b>Order.</b> Messages go out in the order the evaluator emitted them, per subtask and so per
 * device (alerts are keyed by device; the order across subtasks is not defined). Every publish
 * happens in {@link #pump()}, on the task thread (at each write and checkpoint) under this writer's
 * monitor; the client's threads only record acknowledgements and reconnections. Sends are organised
 * in rounds: within a round each message is sent once, oldest first. A reconnection, or a message
 * that was not delivered in the current round, starts a new round, which sends everything still
 * unacknowledged again from the oldest — never a newer message before an older one it has not yet
 * repeated. Completions of earlier rounds still count as acknowledgements but never start another
 * round. A new round is sent at the next write or checkpoint, not at once, so a failing client
 * cannot make the writer spin.
 *
 * <p><b>Refusals.</b> A message the broker refuses for good (MQTT 5 PUBACK 0x87 not authorized,
 * 0x90 topic name invalid, 0x99 payload format invalid) is not sent again (it would only be refused
 * again): it is counted ({@code mqttRefused}), logged with the reason code, and handed over at the
 * next checkpoint as a committable, which the sink dead-letters once that checkpoint is complete. A
 * refusal that arrives after this checkpoint's hand-over and before its snapshot stays in the
 * snapshot as a pending message: a restore from it sends the message again (refused again, then
 * dead-lettered), and without a restore the next checkpoint hands it over. So a restore from the
 * newest checkpoint dead-letters each refusal exactly once.
 *
 * <p><b>Checkpoints.</b> A checkpoint waits at most the ack timeout (the job's default: not at all)
 * for acknowledgements; whatever is unacknowledged then, sent or not, goes into the checkpoint and
 * is sent again after a restore. So a slow or down broker never holds a checkpoint for long, every
 * alert reaches the broker at least once (alert ids are deterministic, so consumers can drop a
 * repeat), and at most {@code maxPending} messages wait — beyond it, and on a restore of more (e.g.
 * after scale-in), the oldest are dropped and counted ({@code mqttDropped}).
 */
public final class MqttSinkWriter
    implements StatefulSinkWriter<AlertEvent, PendingAlerts>,
        CommittingSinkWriter<AlertEvent, MqttRefusal> {

  private static final Logger LOG = LoggerFactory.getLogger(MqttSinkWriter.class);

  private final MqttSinkSettings settings;
  private final MqttPublisher publisher;

  /** Unacknowledged messages by sequence number, oldest first. */
  private final LinkedHashMap<Long, Entry> pending = new LinkedHashMap<>();

  /** Refused messages not yet handed over for dead-lettering, by sequence number. */
  private final TreeMap<Long, Refused> refusedToHandOver = new TreeMap<>();

  private record Refused(PendingAlerts.Message message, MqttRefusal refusal) {}

  private final Counter published;
  private final Counter dropped;
  private final Counter refused;
  private long nextSequence;

  /** The current send round; see the class comment. */
  private long round = 1;

  /** Whether {@link #pump()} is running on this thread (a publish may complete synchronously). */
  private boolean pumping;

  private static final class Entry {
    final long sequence;
    final PendingAlerts.Message message;

    /** The round this message was last sent in, 0 if never. */
    long sentInRound;

    Entry(long sequence, PendingAlerts.Message message) {
      this.sequence = sequence;
      this.message = message;
    }
  }

  public MqttSinkWriter(
      MqttSinkSettings settings,
      MqttPublisher publisher,
      Collection<PendingAlerts> restored,
      MetricGroup metrics) {
    this.settings = settings;
    this.publisher = publisher;
    this.published = metrics.counter("mqttPublished");
    this.dropped = metrics.counter("mqttDropped");
    this.refused = metrics.counter("mqttRefused");
    metrics.gauge("mqttPending", this::pendingCount);
    synchronized (this) {
      for (PendingAlerts state : restored) {
        for (PendingAlerts.Message message : state.messages()) {
          long sequence = nextSequence++;
          pending.put(sequence, new Entry(sequence, message));
        }
      }
      trim(); // a backlog restored after scale-in may hold more than one subtask's bound
    }
    publisher.start(this::connected);
  }

  @Override
  public void write(AlertEvent alert, Context context) {
    PendingAlerts.Message message =
        new PendingAlerts.Message(AlertJson.topic(alert), AlertJson.toJson(alert));
    synchronized (this) {
      add(message);
      pump();
    }
  }

  /** Appends a message, dropping the oldest beyond the bound. Caller holds the monitor. */
  private void add(PendingAlerts.Message message) {
    long sequence = nextSequence++;
    pending.put(sequence, new Entry(sequence, message));
    trim();
  }

  /** Drops the oldest messages beyond the bound and counts them. Caller holds the monitor. */
  private void trim() {
    int excess = pending.size() - settings.maxPending();
    if (excess > 0) {
      Iterator<Entry> oldest = pending.values().iterator();
      for (int i = 0; i < excess; i++) {
        oldest.next();
        oldest.remove();
      }
      dropped.inc(excess);
      LOG.warn(
          "{} MQTT alerts wait for the broker; dropped the {} oldest (limit mqtt.max-pending)",
          settings.maxPending(),
          excess);
    }
  }

  /**
   * Runs on the client's thread: only starts a new round, which the task thread sends at the next
   * write or checkpoint. (In a test, a backlog published from inside the client's connected
   * callback had its first message fail while the later ones went through: out of order.)
   */
  private synchronized void connected() {
    round++;
  }

  /**
   * Sends, oldest first, every pending message not yet sent in the current round, if connected. The
   * only place that publishes; runs under the monitor.
   */
  private synchronized void pump() {
    if (pumping || !publisher.isConnected()) {
      return;
    }
    pumping = true;
    try {
      long current = round;
      for (Entry entry : new ArrayList<>(pending.values())) {
        if (round != current) {
          return; // a publish failed synchronously: the new round is sent at the next trigger
        }
        if (entry.sentInRound == current || !pending.containsKey(entry.sequence)) {
          continue;
        }
        entry.sentInRound = current;
        publisher
            .publish(entry.message.topic(), entry.message.payload())
            .whenComplete((ok, failure) -> completed(entry, current, failure));
      }
    } finally {
      pumping = false;
    }
  }

  private synchronized void completed(Entry entry, long sentInRound, Throwable failure) {
    Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
    if (cause == null) {
      if (pending.remove(entry.sequence) != null) {
        published.inc();
      }
    } else if (cause instanceof MqttRefusedException refusal) {
      if (pending.remove(entry.sequence) != null) {
        refused.inc();
        MqttRefusal deadLetter =
            new MqttRefusal(
                entry.message.topic(),
                entry.message.payload(),
                refusal.reasonCode(),
                refusal.reason());
        refusedToHandOver.put(entry.sequence, new Refused(entry.message, deadLetter));
        LOG.error(
            "MQTT broker refused an alert on {} for good (reason code {}, {}); it goes to the"
                + " dead-letter topic",
            entry.message.topic(),
            deadLetter.reasonCodeHex(),
            refusal.reason());
      }
    } else if (sentInRound == round && pending.containsKey(entry.sequence)) {
      // Not delivered: everything unacknowledged goes out again, in order, in a new round.
      LOG.debug("MQTT publish {} not acknowledged: {}", entry.sequence, cause.toString());
      round++;
    }
    notifyAll();
  }

  /**
   * Sends what waits, then waits at most the ack timeout for what is in flight; the rest goes into
   * the checkpoint.
   */
  @Override
  public synchronized void flush(boolean endOfInput) throws InterruptedException {
    pump();
    long deadline = System.nanoTime() + settings.ackTimeout().toNanos();
    while (!pending.isEmpty() && publisher.isConnected() && allSentInThisRound()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
    }
  }

  private boolean allSentInThisRound() {
    for (Entry entry : pending.values()) {
      if (entry.sentInRound != round) {
        return false;
      }
    }
    return true;
  }

  /** The refusals since the last checkpoint's hand-over, to be dead-lettered after this one. */
  @Override
  public synchronized Collection<MqttRefusal> prepareCommit() {
    List<MqttRefusal> refusals = new ArrayList<>(refusedToHandOver.size());
    for (Refused refused : refusedToHandOver.values()) {
      refusals.add(refused.refusal());
    }
    refusedToHandOver.clear();
    return refusals;
  }

  /** Pending messages and, in their place, refusals not yet handed over; see the class comment. */
  @Override
  public synchronized List<PendingAlerts> snapshotState(long checkpointId) {
    if (pending.isEmpty() && refusedToHandOver.isEmpty()) {
      return List.of();
    }
    TreeMap<Long, PendingAlerts.Message> bySequence = new TreeMap<>();
    for (Entry entry : pending.values()) {
      bySequence.put(entry.sequence, entry.message);
    }
    refusedToHandOver.forEach((sequence, refused) -> bySequence.put(sequence, refused.message()));
    return List.of(new PendingAlerts(new ArrayList<>(bySequence.values())));
  }

  synchronized int pendingCount() {
    return pending.size();
  }

  @Override
  public void close() {
    publisher.close();
  }
}
