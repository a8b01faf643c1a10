package io.placebrain.collector.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.telemetry.KafkaRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ControlEventParserTest {

  private static final String SENSOR = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
  private static final String DEVICE = "0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
  private static final String THRESHOLD = "aaaaaaaa-0000-4000-8000-000000000001";
  private static final String PLACE = "6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e";

  private final ControlEventParser parser = new ControlEventParser(ControlTopics.DEFAULTS);
  private final List<ControlEvent> events = new ArrayList<>();
  private final List<DeadLetter> rejected = new ArrayList<>();

  @Test
  void parsesEachKindByItsTopic() {
    parse(
        "devices.threshold.created",
        "{\"sensor_id\": \""
            + SENSOR
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"key\": \"temp\", \"threshold_id\": \""
            + THRESHOLD
            + "\", \"threshold_type\": \"max\", \"value\": 30.5, \"severity\": \"critical\", \"extra\": 1}");
    parse(
        "devices.threshold.deleted",
        "{\"sensor_id\": \""
            + SENSOR
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"key\": \"temp\", \"threshold_id\": \""
            + THRESHOLD
            + "\"}");
    parse(
        "devices.device.deleted",
        "{\"device_id\": \"" + DEVICE + "\", \"place_id\": \"" + PLACE + "\"}");
    parse(
        "devices.device.bulk-deleted",
        "{\"device_ids\": [\"" + DEVICE + "\", \"" + SENSOR + "\"]}");

    assertThat(rejected).isEmpty();
    assertThat(events)
        .extracting(e -> e.type)
        .containsExactly(
            ControlEventType.THRESHOLD_CREATED, ControlEventType.THRESHOLD_DELETED,
            ControlEventType.DEVICE_DELETED, ControlEventType.DEVICES_BULK_DELETED);
    ControlEvent created = events.get(0);
    assertThat(created.thresholdType).isEqualTo("max");
    assertThat(created.value).isEqualTo(30.5);
    assertThat(created.severity).isEqualTo("critical");
    assertThat(created.key).isEqualTo("temp");
    assertThat(created.timestamp).isEqualTo(42);
    assertThat(events.get(2).deletedDevices()).containsExactly(DEVICE);
    assertThat(events.get(3).deletedDevices()).containsExactly(DEVICE, SENSOR);
  }

  @Test
  void parsesAResolvedAlertAsTheQueryServiceWritesIt() {
    String alert = "bbbbbbbb-0000-4000-8000-000000000001";
    parse(
        ControlTopics.ALERT_RESOLVED_DEFAULT,
        new String(
            ResolvedAlertRecord.value(alert, THRESHOLD, DEVICE, "2026-01-01T00:00:00Z"),
            StandardCharsets.UTF_8));
    parse(ControlTopics.ALERT_RESOLVED_DEFAULT, "{\"threshold_id\": \"" + THRESHOLD + "\"}");

    assertThat(events)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.type).isEqualTo(ControlEventType.ALERT_RESOLVED);
              assertThat(e.alertId).isEqualTo(alert);
              assertThat(e.thresholdId).isEqualTo(THRESHOLD);
              assertThat(e.deviceId).isEqualTo(DEVICE);
              assertThat(e.deletedDevices()).isEmpty();
            });
    assertThat(rejected).singleElement().satisfies(d -> assertThat(d.reason).isNotNull());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "devices.threshold.created | not json                                   | not-json",
        "devices.threshold.created | []                                         | not-an-object",
        "devices.threshold.created | {\"device_id\": \"" + DEVICE + "\"}        | missing-field",
        "devices.threshold.created | {\"sensor_id\": \""
            + SENSOR
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"key\": \"t\", \"threshold_id\": \""
            + THRESHOLD
            + "\", \"threshold_type\": \"above\", \"value\": 1, \"severity\": \"warning\"} | wrong-type",
        "devices.threshold.created | {\"sensor_id\": \""
            + SENSOR
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"key\": \"t\", \"threshold_id\": \""
            + THRESHOLD
            + "\", \"threshold_type\": \"max\", \"value\": \"hot\", \"severity\": \"warning\"} | invalid-value",
        "devices.threshold.created | {\"sensor_id\": \""
            + SENSOR
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"key\": \"t\", \"threshold_id\": \""
            + THRESHOLD
            + "\", \"threshold_type\": \"max\", \"value\": 1, \"severity\": \"fatal\"} | wrong-type",
        "devices.threshold.deleted | {\"sensor_id\": \"x\", \"device_id\": \""
            + DEVICE
            + "\", \"key\": \"t\", \"threshold_id\": \""
            + THRESHOLD
            + "\"} | invalid-uuid",
        "devices.threshold.deleted | {\"sensor_id\": \""
            + SENSOR
            + "\", \"device_id\": \""
            + DEVICE
            + "\", \"key\": \"\", \"threshold_id\": \""
            + THRESHOLD
            + "\"} | invalid-key",
        "devices.device.deleted    | {\"place_id\": \"" + PLACE + "\"}           | missing-field",
        "devices.device.bulk-deleted | {\"device_ids\": \"" + DEVICE + "\"}      | wrong-type",
        "devices.device.bulk-deleted | {\"device_ids\": [\"nope\"]}               | invalid-uuid",
        "somewhere.else            | {}                                         | wrong-type",
      })
  void rejectsBadEventsWithTheirReason(String topic, String json, String reason) {
    parse(topic, json);

    assertThat(events).isEmpty();
    assertThat(rejected)
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.reason).isEqualTo(reason);
              assertThat(d.detail).isNotBlank();
              assertThat(d.sourceTopic).isEqualTo(topic);
            });
  }

  @Test
  void compactionTombstonesAreRejectedAsEmpty() {
    parser.parse(
        new KafkaRecord("devices.device.deleted", 0, 1, 42, null, null),
        events::add,
        rejected::add);

    assertThat(rejected).extracting(d -> d.reason).containsExactly("empty-record");
  }

  private void parse(String topic, String json) {
    parser.parse(
        new KafkaRecord(topic, 0, 1, 42, null, json.getBytes(StandardCharsets.UTF_8)),
        events::add,
        rejected::add);
  }
}
