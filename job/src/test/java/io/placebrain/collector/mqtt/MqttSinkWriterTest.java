package io.placebrain.collector.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.alerts.AlertEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

/** The writer's delivery bookkeeping against a fake publisher: acks, outages, bounds, restore. */
class MqttSinkWriterTest {

  private final FakePublisher publisher = new FakePublisher();
  private final CountingMetrics metrics = new CountingMetrics();

  @Test
  void acknowledgedMessagesLeaveThePendingSet() throws Exception {
    publisher.connected = true;
    MqttSinkWriter writer = writer(10, List.of());

    writer.write(alert("a1"), null);
    writer.write(alert("a2"), null);
    publisher.ackAll();
    writer.flush(false);

    assertThat(publisher.sentIds()).containsExactly("a1", "a2");
    assertThat(writer.snapshotState(1)).isEmpty();
  }

  @Test
  void whileDisconnectedMessagesWaitInStateAndGoOutInOrderOnReconnect() throws Exception {
    MqttSinkWriter writer = writer(10, List.of());

    writer.write(alert("a1"), null);
    writer.write(alert("a2"), null);
    writer.flush(false); // does not block while disconnected

    assertThat(publisher.sentIds()).isEmpty();
    assertThat(writer.snapshotState(1))
        .singleElement()
        .satisfies(s -> assertThat(s.messages()).hasSize(2));

    publisher.connect();
    writer.flush(false); // the next checkpoint after the reconnection sends the backlog
    publisher.ackAll();
    assertThat(publisher.sentIds()).containsExactly("a1", "a2");
    assertThat(writer.snapshotState(2)).isEmpty();
  }

  @Test
  void failedPublishesAreSentAgain() throws Exception {
    publisher.connected = true;
    MqttSinkWriter writer = writer(10, List.of());
    writer.write(alert("a1"), null);
    publisher.failAll();

    writer.flush(false);
    publisher.ackAll();

    assertThat(publisher.sentIds()).containsExactly("a1", "a1");
    assertThat(writer.snapshotState(1)).isEmpty();
  }

  @Test
  void beyondTheBoundTheOldestAreDroppedAndCounted() throws Exception {
    MqttSinkWriter writer = writer(2, List.of());

    writer.write(alert("a1"), null);
    writer.write(alert("a2"), null);
    writer.write(alert("a3"), null);

    assertThat(writer.snapshotState(1).get(0).messages())
        .extracting(m -> idOf(m.payload()))
        .containsExactly("a2", "a3");
  }

  @Test
  void restoredMessagesAreSentFirst() throws Exception {
    MqttSinkWriter first = writer(10, List.of());
    first.write(alert("old"), null);
    List<PendingAlerts> state = first.snapshotState(1);

    publisher.connected = true;
    MqttSinkWriter restored = writer(10, state);
    restored.write(alert("new"), null);
    publisher.ackAll();

    assertThat(publisher.sentIds()).containsExactly("old", "new");
  }

  @Test
  void afterAReconnectTheBacklogGoesOutBeforeNewerAlerts() throws Exception {
    publisher.connected = true;
    MqttSinkWriter writer = writer(10, List.of());
    writer.write(alert("created"), null);
    writer.write(alert("updated"), null);
    publisher.connected = false; // the connection drops; its publishes have not failed yet
    writer.write(alert("resolved"), null);

    publisher.sent.clear();
    publisher.connect();
    publisher.failFirst(2); // the old connection's publishes fail only now
    writer.flush(false);
    publisher.ackAll();
    writer.flush(false);

    assertThat(publisher.sentIds())
        .as("resent oldest first, nothing newer overtakes the backlog")
        .containsExactly("created", "updated", "resolved");
    assertThat(writer.snapshotState(1)).isEmpty();
  }

  @Test
  void aFailureInTheCurrentRoundResendsEverythingUnacknowledgedInOrder() throws Exception {
    publisher.connected = true;
    MqttSinkWriter writer = writer(10, List.of());
    writer.write(alert("a1"), null);
    writer.write(alert("a2"), null);
    writer.write(alert("a3"), null);
    publisher.failFirst(1); // a1 not delivered, a2 and a3 still in flight

    publisher.sent.clear();
    writer.write(alert("a4"), null);

    assertThat(publisher.sentIds()).containsExactly("a1", "a2", "a3", "a4");
  }

  @Test
  void aMessageTheBrokerRefusesForGoodIsHandedOverForDeadLetteringOnceAndCounted()
      throws Exception {
    publisher.connected = true;
    MqttSinkWriter writer = writer(10, List.of());
    writer.write(alert("refused"), null);
    publisher.refuseAll(0x87);
    writer.write(alert("next"), null);
    writer.flush(false);
    publisher.connect(); // even a reconnection does not send it again
    publisher.ackAll();
    writer.flush(false);

    assertThat(publisher.sentIds()).filteredOn("refused"::equals).hasSize(1);
    assertThat(metrics.count("mqttRefused")).isEqualTo(1);
    // A checkpoint: committables first, then the state, as the sink operator calls them.
    assertThat(writer.prepareCommit())
        .singleElement()
        .satisfies(
            refusal -> {
              assertThat(idOf(refusal.payload)).isEqualTo("refused");
              assertThat(refusal.topic).isEqualTo("placebrain/place/alerts");
              assertThat(refusal.reasonCodeHex()).isEqualTo("0x87");
              assertThat(refusal.reason).isEqualTo("NOT_AUTHORIZED");
            });
    assertThat(writer.snapshotState(1)).isEmpty();
    assertThat(writer.prepareCommit()).as("handed over once").isEmpty();
  }

  @Test
  void aRefusalAfterTheHandOverStaysInTheCheckpointUntilTheNextHandOver() throws Exception {
    publisher.connected = true;
    MqttSinkWriter writer = writer(10, List.of());
    writer.write(alert("a1"), null);
    writer.write(alert("refused"), null);
    assertThat(writer.prepareCommit()).isEmpty();
    publisher.ackFirst(1); // a1
    publisher.refuseAll(0x90); // between the hand-over and the snapshot

    // A restore from this checkpoint sends it again, since its dead letter is not in this one.
    assertThat(writer.snapshotState(1))
        .singleElement()
        .satisfies(s -> assertThat(s.messages()).hasSize(1));
    assertThat(writer.prepareCommit())
        .singleElement()
        .satisfies(refusal -> assertThat(refusal.reasonCodeHex()).isEqualTo("0x90"));
    assertThat(writer.snapshotState(2)).isEmpty();
  }

  @Test
  void aRestoredBacklogBeyondTheBoundIsTrimmedToTheNewestAndCounted() throws Exception {
    MqttSinkWriter first = writer(10, List.of());
    for (int i = 1; i <= 5; i++) {
      first.write(alert("a" + i), null);
    }
    List<PendingAlerts> state = first.snapshotState(1);

    MqttSinkWriter restored = writer(3, state);

    assertThat(restored.snapshotState(2).get(0).messages())
        .extracting(m -> idOf(m.payload()))
        .containsExactly("a3", "a4", "a5");
    assertThat(metrics.count("mqttDropped")).isEqualTo(2);
  }

  @Test
  void aCheckpointDoesNotWaitForASlowBrokerByDefault() throws Exception {
    MqttSinkSettings defaults =
        io.placebrain.collector.job.CollectorJobConfig.from(new String[0], java.util.Map.of())
            .mqttSettings();
    assertThat(defaults.ackTimeout()).isZero();

    publisher.connected = true;
    MqttSinkWriter writer =
        new MqttSinkWriter(defaults, publisher, List.of(), new UnregisteredMetricsGroup());
    writer.write(alert("slow"), null);
    writer.flush(false); // the broker has not acknowledged: the message goes into the checkpoint

    assertThat(writer.snapshotState(1).get(0).messages())
        .extracting(m -> idOf(m.payload()))
        .containsExactly("slow");
  }

  @Test
  void onlyTheTaskThreadPublishesAlsoAfterAReconnectionOnTheClientsThread() throws Exception {
    MqttSinkWriter writer = writer(10, List.of());
    writer.write(alert("a1"), null);

    Thread client = new Thread(publisher::connect, "mqtt-client");
    client.start();
    client.join();
    assertThat(publisher.sentIds()).as("nothing published on the client's thread").isEmpty();

    writer.flush(false);
    writer.write(alert("a2"), null);
    assertThat(publisher.sentIds()).containsExactly("a1", "a2");
    assertThat(publisher.threads).containsOnly(Thread.currentThread().getName());
  }

  @Test
  void stateRoundTripsThroughItsSerializer() throws Exception {
    PendingAlertsSerializer serializer = new PendingAlertsSerializer();
    PendingAlerts state =
        new PendingAlerts(
            List.of(
                new PendingAlerts.Message(
                    "placebrain/p/alerts", "{}".getBytes(StandardCharsets.UTF_8))));

    PendingAlerts copy =
        serializer.deserialize(serializer.getVersion(), serializer.serialize(state));

    assertThat(copy.messages())
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.topic()).isEqualTo("placebrain/p/alerts");
              assertThat(new String(m.payload(), StandardCharsets.UTF_8)).isEqualTo("{}");
            });
  }

  private MqttSinkWriter writer(int maxPending, List<PendingAlerts> restored) {
    MqttSinkSettings settings =
        new MqttSinkSettings(
            "tcp://localhost:1883", "test", null, null, "5", maxPending, Duration.ofMillis(200));
    return new MqttSinkWriter(settings, publisher, restored, metrics);
  }

  private static AlertEvent alert(String id) {
    AlertEvent alert = new AlertEvent();
    alert.id = id;
    alert.eventType = AlertEvent.CREATED;
    alert.placeId = "place";
    alert.createdAtMicros = 1_700_000_000_000_000L;
    return alert;
  }

  private static String idOf(byte[] payload) {
    String json = new String(payload, StandardCharsets.UTF_8);
    int start = json.indexOf("\"id\":\"") + 6;
    return json.substring(start, json.indexOf('"', start));
  }

  /** Keeps the counters the writer registers, so tests can read them. */
  private static final class CountingMetrics extends UnregisteredMetricsGroup {
    private final java.util.Map<String, Counter> counters = new java.util.HashMap<>();

    @Override
    public Counter counter(String name) {
      return counters.computeIfAbsent(name, n -> new SimpleCounter());
    }

    long count(String name) {
      return counters.containsKey(name) ? counters.get(name).getCount() : 0;
    }
  }

  /** Records publishes; the test decides when the broker acknowledges or fails them. */
  private static final class FakePublisher implements MqttPublisher {
    volatile boolean connected;
    Runnable onConnected;
    final List<String> sent = new ArrayList<>();
    final java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
    final List<CompletableFuture<Void>> outstanding = new ArrayList<>();

    @Override
    public void start(Runnable onConnected) {
      this.onConnected = onConnected;
    }

    void connect() {
      connected = true;
      onConnected.run();
    }

    @Override
    public boolean isConnected() {
      return connected;
    }

    @Override
    public synchronized CompletableFuture<Void> publish(String topic, byte[] payload) {
      sent.add(idOf(payload));
      threads.add(Thread.currentThread().getName());
      CompletableFuture<Void> ack = new CompletableFuture<>();
      outstanding.add(ack);
      return ack;
    }

    synchronized void ackAll() {
      List<CompletableFuture<Void>> acks = new ArrayList<>(outstanding);
      outstanding.clear();
      acks.forEach(a -> a.complete(null));
    }

    /** The oldest outstanding publishes are acknowledged. */
    synchronized void ackFirst(int count) {
      List<CompletableFuture<Void>> acks = new ArrayList<>(outstanding.subList(0, count));
      outstanding.subList(0, count).clear();
      acks.forEach(a -> a.complete(null));
    }

    synchronized void failAll() {
      List<CompletableFuture<Void>> acks = new ArrayList<>(outstanding);
      outstanding.clear();
      acks.forEach(a -> a.completeExceptionally(new IllegalStateException("connection lost")));
    }

    /** The oldest outstanding publishes fail, e.g. as the connection they went out on drops. */
    synchronized void failFirst(int count) {
      List<CompletableFuture<Void>> acks = new ArrayList<>(outstanding.subList(0, count));
      outstanding.subList(0, count).clear();
      acks.forEach(a -> a.completeExceptionally(new IllegalStateException("connection lost")));
    }

    synchronized void refuseAll(int reasonCode) {
      List<CompletableFuture<Void>> acks = new ArrayList<>(outstanding);
      outstanding.clear();
      acks.forEach(
          a -> a.completeExceptionally(new MqttRefusedException(reasonCode, "NOT_AUTHORIZED")));
    }

    synchronized List<String> sentIds() {
      return new ArrayList<>(sent);
    }

    @Override
    public void close() {}
  }
}
