package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.proto.Alert;
import io.placebrain.collector.proto.AlertStatus;
import io.placebrain.collector.proto.ResolveAlertRequest;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A user's resolve commits the resolved row and its event together (outbox); the event is published
 * when the broker acknowledges, however late, even by the next run of the service.
 */
class ResolveOutboxITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static final Instant CREATED = Instant.now().truncatedTo(ChronoUnit.HOURS);

  private static Map<String, String> noKafka() {
    return Map.of("kafka.bootstrap-servers", "");
  }

  private static long queued(QueryServiceHarness harness, UUID alert) throws Exception {
    return harness.count(
        "SELECT count(*) FROM alert_events_outbox WHERE alert_id = '" + alert + "'");
  }

  private static Alert resolve(QueryServiceHarness harness, UUID alert) {
    return harness
        .client()
        .resolveAlert(ResolveAlertRequest.newBuilder().setAlertId(alert.toString()).build())
        .getAlert();
  }

  @Test
  void whileTheBrokerIsDownAResolveCommitsAndItsEventFollowsWhenTheBrokerIsBack() throws Exception {
    UUID id = UUID.randomUUID();
    TestMqttBroker broker = TestServices.mqtt();
    try (QueryServiceHarness harness = new QueryServiceHarness(DB.get(), noKafka())) {
      harness.insertAlert(id, UUID.randomUUID(), UUID.randomUUID(), "active", "warning", CREATED);
      broker.stop();
      try {
        Alert alert = resolve(harness, id);
        assertThat(alert.getStatus()).isEqualTo(AlertStatus.ALERT_STATUS_RESOLVED);
        assertThat(
                harness.count(
                    "SELECT count(*) FROM alerts WHERE id = '" + id + "' AND status = 'resolved'"))
            .isOne();
        assertThat(queued(harness, id)).isOne();
        // A retry returns the same row and queues nothing more.
        assertThat(resolve(harness, id)).isEqualTo(alert);
        assertThat(queued(harness, id)).isOne();
      } finally {
        broker.start();
      }
      // The broker acknowledged the event: it left the outbox.
      long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (queued(harness, id) > 0) {
        assertThat(System.nanoTime()).as("event still queued after 60 s").isLessThan(end);
        Thread.sleep(100);
      }
    }
  }

  @Test
  void eventsLeftQueuedWhenTheServiceStoppedArePublishedByItsNextRun() throws Exception {
    UUID id = UUID.randomUUID();
    UUID place = UUID.randomUUID();
    TestMqttBroker broker = TestServices.mqtt();
    try (QueryServiceHarness first = new QueryServiceHarness(DB.get(), noKafka())) {
      first.insertAlert(id, place, UUID.randomUUID(), "active", "critical", CREATED);
      broker.stop();
      try {
        assertThat(resolve(first, id).getStatus()).isEqualTo(AlertStatus.ALERT_STATUS_RESOLVED);
        assertThat(queued(first, id)).isOne();
      } finally {
        first.close();
        broker.start();
      }
    }
    try (MqttRecorder recorder = MqttRecorder.subscribe(broker, "placebrain/" + place + "/alerts");
        QueryServiceHarness next = new QueryServiceHarness(DB.get(), noKafka())) {
      List<MqttRecorder.Received> messages = recorder.await(1, Duration.ofSeconds(60));
      assertThat(messages.get(0).qos()).isEqualTo(1);
      assertThat(messages.get(0).payload())
          .contains("\"id\":\"" + id + "\"")
          .contains("\"event_type\":\"resolved\"")
          .doesNotContain("\"resolved_at\":null");
    }
  }
}
