package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.mqtt.MqttRecorder;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The MQTT broker is stopped while alerts are raised and started again later: every alert is
 * delivered once it is back, and readings keep landing meanwhile.
 */
class MqttOutageITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final Pattern EVENT =
      Pattern.compile("\"id\":\"([^\"]+)\",\"event_type\":\"([a-z]+)\"");

  private static Set<String> alertEvents(TestMqttBroker broker, int from, String device) {
    Set<String> events = new HashSet<>();
    List<TestMqttBroker.Published> published = broker.published();
    for (TestMqttBroker.Published message : published.subList(from, published.size())) {
      Matcher matcher = EVENT.matcher(message.payload());
      if (message.topic().equals("placebrain/" + JobHarness.PLACE + "/alerts")
          && message.payload().contains("\"device_id\":\"" + device + "\"")
          && matcher.find()) {
        events.add(matcher.group(1) + " " + matcher.group(2));
      }
    }
    return events;
  }

  @Test
  void alertsRaisedDuringAnOutageAreDeliveredAfterIt() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    TestMqttBroker broker = TestServices.mqtt();
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    String boiler = UUID.randomUUID().toString();
    String meter = UUID.randomUUID().toString();
    Instant base = Instant.now().minus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS);
    harness.kafka.send(
        harness.thresholdCreatedTopic,
        boiler,
        JobHarness.threshold(UUID.randomUUID().toString(), boiler, "temp", "max", 30, "critical"));

    try (MqttRecorder mqtt =
        MqttRecorder.subscribe(broker, "placebrain/" + JobHarness.PLACE + "/alerts")) {
      StreamExecutionEnvironment env = harness.environment(0);
      CollectorJob.build(env, harness.config);
      JobClient job = env.executeAsync("mqtt outage");
      try {
        harness.awaitThresholdsApplied(mqtt, base);
        int before = broker.published().size();

        broker.stop();
        int atStop = broker.published().size();
        int cycles = 5;
        for (int i = 0; i < cycles; i++) {
          harness.kafka.send(
              harness.telemetryTopic,
              boiler,
              harness.telemetry(boiler, "temp", 31, base.plusSeconds(2 * i + 1).toString()));
          harness.kafka.send(
              harness.telemetryTopic,
              boiler,
              harness.telemetry(boiler, "temp", 20, base.plusSeconds(2 * i + 2).toString()));
        }
        for (int i = 0; i < 200; i++) {
          harness.kafka.send(
              harness.telemetryTopic,
              meter,
              harness.telemetry(meter, "kwh", i, base.plusSeconds(i).toString()));
        }
        boolean landedDuringOutage =
            JobHarness.await(
                Duration.ofSeconds(60),
                () ->
                    DB.get()
                                .queryLong(
                                    "SELECT count(*) FROM readings WHERE device_id = '"
                                        + meter
                                        + "'")
                            == 200
                        && DB.get()
                                .queryLong(
                                    "SELECT count(*) FROM alerts WHERE device_id = '"
                                        + boiler
                                        + "'")
                            == cycles);
        int receivedDuringOutage = broker.published().size() - atStop;
        Thread.sleep(2_000); // a few checkpoints with the broker down

        broker.start();
        // What reached the broker, whoever subscribed: no race with the recorder's reconnection.
        JobHarness.await(
            Duration.ofSeconds(90), () -> alertEvents(broker, before, boiler).size() >= 2 * cycles);

        assertThat(landedDuringOutage).as("readings and alert rows kept landing").isTrue();
        assertThat(receivedDuringOutage).isZero();
        Set<String> events = alertEvents(broker, before, boiler);
        assertThat(events).as("every alert event delivered (repeats allowed)").hasSize(2 * cycles);
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
      } finally {
        broker.start();
        job.cancel().get();
      }
    }
  }
}
