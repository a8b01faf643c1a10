package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real Kafka, PostgreSQL and MQTT broker: thresholds and readings produced, the exact sequence of
 * created and resolved events observed on MQTT, and the matching rows in {@code alerts}.
 */
class AlertsITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final Pattern FIELD = Pattern.compile("\"([a-z_]+)\":(\"[^\"]*\"|[^,}]+)");

  /** MQTT 5 is the default; the lifecycle also runs once on 3.1.1, which older brokers speak. */
  @ParameterizedTest(name = "MQTT {0}")
  @ValueSource(strings = {"5", "3.1.1"})
  void alertsAreCreatedAndResolvedOnMqttAndInTheTable(String mqttVersion) throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    JobHarness harness = new JobHarness(DB.get(), Map.of("mqtt.version", mqttVersion));
    String place = JobHarness.PLACE;
    String boiler = UUID.randomUUID().toString();
    String cellar = UUID.randomUUID().toString();
    String maxId = UUID.randomUUID().toString();
    String minId = UUID.randomUUID().toString();
    String humidityId = UUID.randomUUID().toString();
    Instant base = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);

    try (MqttRecorder mqtt =
        MqttRecorder.subscribe(TestServices.mqtt(), "placebrain/" + place + "/alerts")) {
      harness.kafka.send(
          harness.thresholdCreatedTopic,
          boiler,
          JobHarness.threshold(maxId, boiler, "temp", "max", 30, "critical"));
      harness.kafka.send(
          harness.thresholdCreatedTopic,
          boiler,
          JobHarness.threshold(minId, boiler, "temp", "min", 10, "warning"));
      harness.kafka.send(
          harness.thresholdCreatedTopic,
          cellar,
          JobHarness.threshold(humidityId, cellar, "hum", "max", 80, "warning"));

      StreamExecutionEnvironment env = harness.environment(0);
      CollectorJob.build(env, harness.config);
      JobClient job = env.executeAsync("alerts");
      try {
        harness.awaitThresholdsApplied(mqtt, base);

        double[] temps = {25, 31, 35, 29, 5, 12};
        for (int i = 0; i < temps.length; i++) {
          harness.kafka.send(
              harness.telemetryTopic,
              boiler,
              harness.telemetry(boiler, "temp", temps[i], base.plusSeconds(i + 1).toString()));
        }
        harness.kafka.send(
            harness.telemetryTopic,
            cellar,
            harness.telemetry(cellar, "hum", 85, base.plusSeconds(1).toString()));
        assertThat(JobHarness.await(Duration.ofSeconds(30), () -> mqtt.received().size() >= 6))
            .isTrue();

        harness.kafka.send(
            harness.thresholdDeletedTopic,
            cellar,
            "{\"sensor_id\": \""
                + UUID.randomUUID()
                + "\", \"device_id\": \""
                + cellar
                + "\", \"key\": \"hum\", \"threshold_id\": \""
                + humidityId
                + "\"}");
        List<MqttRecorder.Received> received = mqtt.await(7, Duration.ofSeconds(30));
        Thread.sleep(1_000);

        List<Map<String, String>> events = new ArrayList<>();
        for (MqttRecorder.Received message : mqtt.received()) {
          assertThat(message.qos()).isEqualTo(1);
          events.add(fields(message.payload()));
        }
        assertThat(events)
            .allSatisfy(
                e ->
                    assertThat(e.keySet())
                        .containsExactlyInAnyOrder(
                            "id",
                            "event_type",
                            "sensor_id",
                            "threshold_id",
                            "device_id",
                            "place_id",
                            "key",
                            "value",
                            "threshold_value",
                            "threshold_type",
                            "severity",
                            "created_at",
                            "resolved_at"));
        assertThat(eventsOf(events, boiler))
            .containsExactly(
                "created max 31.0 critical", "resolved max 31.0 critical",
                "created min 5.0 warning", "resolved min 5.0 warning");
        assertThat(eventsOf(events, cellar))
            .containsExactly("created max 85.0 warning", "resolved max 85.0 warning");
        assertThat(events)
            .filteredOn(e -> e.get("event_type").equals("\"created\""))
            .allSatisfy(e -> assertThat(e.get("resolved_at")).isEqualTo("null"));
        assertThat(events)
            .filteredOn(e -> e.get("event_type").equals("\"resolved\""))
            .allSatisfy(e -> assertThat(e.get("resolved_at")).startsWith("\"20"));
        assertThat(received).hasSizeGreaterThanOrEqualTo(7);

        // The table holds one row per alert, resolved, with the same ids as the messages.
        assertThat(
                JobHarness.await(
                    Duration.ofSeconds(20),
                    () ->
                        DB.get().queryLong("SELECT count(*) FROM alerts WHERE status = 'resolved'")
                            >= 3))
            .isTrue();
        List<String> rows = new ArrayList<>();
        try (Connection connection = DB.get().connect();
            Statement statement = connection.createStatement();
            ResultSet result =
                statement.executeQuery(
                    "SELECT id, device_id, threshold_type, value, threshold_value, severity, status,"
                        + " created_at IS NOT NULL, resolved_at > created_at OR resolved_at = created_at"
                        + " FROM alerts WHERE device_id IN ('"
                        + boiler
                        + "', '"
                        + cellar
                        + "')"
                        + " ORDER BY created_at, threshold_type")) {
          while (result.next()) {
            rows.add(
                result.getString(3)
                    + " "
                    + result.getDouble(4)
                    + " "
                    + result.getDouble(5)
                    + " "
                    + result.getString(6)
                    + " "
                    + result.getString(7)
                    + " "
                    + result.getBoolean(8)
                    + " "
                    + result.getBoolean(9));
            assertThat(events)
                .anySatisfy(e -> assertThat(e.get("id")).contains(result.getString(1)));
          }
        }
        assertThat(rows)
            .containsExactlyInAnyOrder(
                "max 31.0 30.0 critical resolved true true",
                "min 5.0 10.0 warning resolved true true",
                "max 85.0 80.0 warning resolved true true");
      } finally {
        job.cancel().get();
      }
    }
  }

  private static List<String> eventsOf(List<Map<String, String>> events, String device) {
    List<String> described = new ArrayList<>();
    for (Map<String, String> event : events) {
      if (event.get("device_id").equals("\"" + device + "\"")) {
        described.add(
            unquote(event.get("event_type"))
                + " "
                + unquote(event.get("threshold_type"))
                + " "
                + event.get("value")
                + " "
                + unquote(event.get("severity")));
      }
    }
    return described;
  }

  private static String unquote(String value) {
    return value.replace("\"", "");
  }

  private static Map<String, String> fields(String json) {
    Map<String, String> fields = new java.util.LinkedHashMap<>();
    Matcher matcher = FIELD.matcher(json);
    while (matcher.find()) {
      fields.put(matcher.group(1), matcher.group(2));
    }
    return fields;
  }
}
