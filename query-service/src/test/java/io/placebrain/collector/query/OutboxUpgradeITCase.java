package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A database an earlier service created its outbox in (before the schema owned it): the service
 * starts on it, publishes the events that service left queued, and has the resolves' outbox too.
 */
class OutboxUpgradeITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @Test
  void eventsQueuedByAnEarlierServiceArePublishedAndTheResolvesOutboxIsAdded() throws Exception {
    UUID alert = UUID.randomUUID();
    String topic = "placebrain/" + UUID.randomUUID() + "/alerts";
    // What versions up to c5307f2 created on start, and one event a stopped one left queued.
    DB.get()
        .execute(
            "CREATE TABLE IF NOT EXISTS alert_events_outbox (seq bigserial PRIMARY KEY, alert_id"
                + " uuid NOT NULL, topic text NOT NULL, payload bytea NOT NULL, created_at"
                + " timestamptz NOT NULL DEFAULT now())");
    try (Connection connection = DB.get().connect();
        PreparedStatement insert =
            connection.prepareStatement(
                "INSERT INTO alert_events_outbox (alert_id, topic, payload) VALUES (?, ?, ?)")) {
      insert.setObject(1, alert);
      insert.setString(2, topic);
      insert.setBytes(
          3,
          ("{\"id\":\"" + alert + "\",\"event_type\":\"resolved\"}")
              .getBytes(StandardCharsets.UTF_8));
      insert.executeUpdate();
    }

    try (MqttRecorder recorder = MqttRecorder.subscribe(TestServices.mqtt(), topic);
        QueryServiceHarness service =
            new QueryServiceHarness(DB.get(), Map.of("kafka.bootstrap-servers", ""))) {
      List<MqttRecorder.Received> messages = recorder.await(1, Duration.ofSeconds(60));
      assertThat(messages.get(0).payload()).contains(alert.toString());
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (service.count("SELECT count(*) FROM alert_events_outbox") > 0) {
        assertThat(System.nanoTime()).as("the event left the outbox").isLessThan(deadline);
        Thread.sleep(100);
      }
      assertThat(service.count("SELECT count(*) FROM alert_resolved_outbox")).isZero();
    }
  }
}
