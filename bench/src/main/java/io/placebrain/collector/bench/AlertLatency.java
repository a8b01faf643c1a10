package io.placebrain.collector.bench;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import io.placebrain.collector.job.CollectorJob;
import io.placebrain.collector.job.CollectorJobConfig;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.mqtt.TestMqttBroker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Kafka record timestamp → alert received by an MQTT subscriber, with the whole job running and a
 * steady 2,000 readings per second: 200 devices whose temperature crosses a threshold every ten
 * readings, so about 200 alert events (created or resolved) per second. A reading's time is its
 * record's timestamp, and an alert event carries the time of the reading that caused it, so each
 * received event gives one latency.
 */
final class AlertLatency {

  private static final Pattern EVENT_TIME =
      Pattern.compile(
          "\"event_type\":\"(created|resolved)\".*\"created_at\":\"([^\"]+)\",\"resolved_at\":(null|\"([^\"]+)\")");
  private static final int DEVICES = 200;
  private static final int READINGS_PER_SECOND = 2000;

  private final BenchCluster cluster;
  private final JobRuns jobs;

  AlertLatency(BenchCluster cluster, JobRuns jobs) {
    this.cluster = cluster;
    this.jobs = jobs;
  }

  /**
   * p50 and p99 in ms of each window after the warm-up, with {@code backgroundReadingsPerSecond}
   * more readings per second of 1,000 other devices (three per record, no thresholds) on top: the
   * load under which alerts must still be quick.
   */
  double[][] measure(
      Duration warmUp, Duration window, int windows, long backgroundReadingsPerSecond)
      throws Exception {
    BenchRows background = new BenchRows(1000);
    long backgroundRecordsPerSecond = backgroundReadingsPerSecond / 3;
    List<double[]> samples = new CopyOnWriteArrayList<>();
    double[][] result = new double[windows][];
    Throughput.withDatabase(
        db -> {
          String topic = jobs.preload(0);
          CollectorJobConfig config = jobs.config(db, topic);
          TestMqttBroker broker = TestServices.mqtt();
          Mqtt3AsyncClient subscriber =
              MqttClient.builder()
                  .identifier("bench-" + UUID.randomUUID())
                  .serverHost(broker.host())
                  .serverPort(broker.port())
                  .useMqttVersion3()
                  .buildAsync();
          subscriber.connect().get(10, TimeUnit.SECONDS);
          subscriber
              .subscribeWith()
              .topicFilter("placebrain/+/alerts")
              .qos(MqttQos.AT_LEAST_ONCE)
              .callback(
                  message -> {
                    long now = System.currentTimeMillis();
                    Matcher event =
                        EVENT_TIME.matcher(
                            new String(message.getPayloadAsBytes(), StandardCharsets.UTF_8));
                    if (event.find()) {
                      String time =
                          event.group(1).equals("created") ? event.group(2) : event.group(4);
                      samples.add(new double[] {now, now - Instant.parse(time).toEpochMilli()});
                    }
                  })
              .send()
              .get(10, TimeUnit.SECONDS);

          try (KafkaProducer<byte[], byte[]> producer =
              new KafkaProducer<>(
                  Map.of(
                      ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                      TestServices.kafka().bootstrapServers(),
                      ProducerConfig.LINGER_MS_CONFIG,
                      "0"),
                  new ByteArraySerializer(),
                  new ByteArraySerializer())) {
            String place = UUID.randomUUID().toString();
            String[] devices = new String[DEVICES];
            for (int d = 0; d < DEVICES; d++) {
              devices[d] = UUID.randomUUID().toString();
              String sensor = UUID.randomUUID().toString();
              producer.send(
                  new ProducerRecord<>(
                      config.controlTopics().thresholdCreated(),
                      sensor.getBytes(StandardCharsets.UTF_8),
                      ("{\"sensor_id\":\""
                              + sensor
                              + "\",\"device_id\":\""
                              + devices[d]
                              + "\",\"key\":\"temperature\",\"threshold_id\":\""
                              + UUID.randomUUID()
                              + "\",\"threshold_type\":\"max\",\"value\":50,\"severity\":\"warning\"}")
                          .getBytes(StandardCharsets.UTF_8)));
            }
            producer.flush();

            StreamExecutionEnvironment env = cluster.environment(2);
            CollectorJob.build(env, config);
            JobClient job = env.executeAsync("bench alerts");
            try {
              cluster.awaitTasksRunning(job.getJobID());
              long total = warmUp.toMillis() + window.toMillis() * windows;
              long start = System.currentTimeMillis();
              long sent = 0;
              long sentBackground = 0;
              while (System.currentTimeMillis() - start < total) {
                long dueBackground =
                    (System.currentTimeMillis() - start) * backgroundRecordsPerSecond / 1000;
                for (; sentBackground < dueBackground; sentBackground++) {
                  producer.send(
                      new ProducerRecord<>(
                          topic,
                          background.recordKey(sentBackground).getBytes(StandardCharsets.UTF_8),
                          background.record(sentBackground).getBytes(StandardCharsets.UTF_8)));
                }
                long due = (System.currentTimeMillis() - start) * READINGS_PER_SECOND / 1000;
                for (; sent < due; sent++) {
                  int d = (int) (sent % DEVICES);
                  long k = sent / DEVICES;
                  double value = k % 20 < 10 ? 60 : 40;
                  long now = System.currentTimeMillis();
                  String record =
                      "{\"place_id\":\""
                          + place
                          + "\",\"device_id\":\""
                          + devices[d]
                          + "\",\"payload\":{\"ts\":\""
                          + Instant.ofEpochMilli(now)
                          + "\",\"values\":{\"temperature\":"
                          + value
                          + "}}}";
                  producer.send(
                      new ProducerRecord<>(
                          topic,
                          null,
                          now,
                          devices[d].getBytes(StandardCharsets.UTF_8),
                          record.getBytes(StandardCharsets.UTF_8)));
                }
                Thread.sleep(1);
              }
              Thread.sleep(1000); // the last events arrive
              for (int w = 0; w < windows; w++) {
                long from = start + warmUp.toMillis() + w * window.toMillis();
                long to = from + window.toMillis();
                double[] latencies =
                    samples.stream()
                        .filter(s -> s[0] >= from && s[0] < to)
                        .mapToDouble(s -> s[1])
                        .toArray();
                if (latencies.length == 0) {
                  throw new IllegalStateException("No alert arrived in window " + (w + 1));
                }
                result[w] =
                    new double[] {
                      Figure.percentile(latencies, 50),
                      Figure.percentile(latencies, 99),
                      latencies.length
                    };
              }
            } finally {
              job.cancel().get(1, TimeUnit.MINUTES);
              subscriber.disconnect();
            }
          }
          return 0;
        });
    return result;
  }
}
