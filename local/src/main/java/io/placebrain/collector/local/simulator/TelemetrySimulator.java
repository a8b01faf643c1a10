package io.placebrain.collector.local.simulator;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plays a few buildings: places with devices measuring temperature, CO2 and humidity, each with a
 * threshold, published as the platform publishes them (thresholds on {@code
 * devices.threshold.created}, telemetry as EMQX bridges it). Values swing across their thresholds
 * now and then; about one record in a hundred is bad in one of the ways devices get it wrong. Ids
 * are derived from names, so a restart simulates the same devices.
 */
public final class TelemetrySimulator implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(TelemetrySimulator.class);

  /** One simulated device. */
  public record Device(UUID placeId, UUID deviceId, List<SimulatedSensor> sensors) {}

  private final KafkaProducer<byte[], byte[]> producer;
  private final String telemetryTopic;
  private final List<Device> devices;
  private final Duration period;
  private final double recordsPerSecond;
  private final Random random = new Random();
  private final ScheduledExecutorService ticker =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "telemetry-simulator");
            thread.setDaemon(true);
            return thread;
          });
  private long next;
  private double owed;

  public TelemetrySimulator(
      String bootstrapServers,
      String telemetryTopic,
      int places,
      int devicesPerPlace,
      double recordsPerSecond,
      Duration period) {
    this.producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.LINGER_MS_CONFIG, "20",
                ProducerConfig.CLIENT_ID_CONFIG, "collector-simulator"),
            new ByteArraySerializer(),
            new ByteArraySerializer());
    this.telemetryTopic = telemetryTopic;
    this.devices = devices(places, devicesPerPlace);
    this.period = period;
    this.recordsPerSecond = recordsPerSecond;
  }

  static List<Device> devices(int places, int devicesPerPlace) {
    List<Device> devices = new ArrayList<>();
    for (int p = 1; p <= places; p++) {
      UUID place = id("place-" + p);
      for (int d = 1; d <= devicesPerPlace; d++) {
        UUID device = id("place-" + p + "/device-" + d);
        double phase = (p * 7 + d * 3) % 10 / 10.0 * 2 * Math.PI;
        devices.add(
            new Device(
                place,
                device,
                List.of(
                    sensor(device, "temperature", 22, 4.5, "max", 25.5, "warning", phase),
                    sensor(device, "co2", 700, 380, "max", 1000, "critical", phase + 1),
                    sensor(device, "humidity", 45, 14, "min", 33, "warning", phase + 2))));
      }
    }
    return devices;
  }

  private static SimulatedSensor sensor(
      UUID device,
      String key,
      double base,
      double amplitude,
      String type,
      double threshold,
      String severity,
      double phase) {
    UUID sensor = id(device + "/" + key);
    return new SimulatedSensor(
        sensor, id(sensor + "/" + type), key, base, amplitude, type, threshold, severity, phase);
  }

  private static UUID id(String name) {
    return UUID.nameUUIDFromBytes(("collector-simulator/" + name).getBytes(StandardCharsets.UTF_8));
  }

  public List<Device> devices() {
    return devices;
  }

  /** Publishes the thresholds, then telemetry at the configured rate until closed. */
  public void start(String thresholdCreatedTopic) {
    for (Device device : devices) {
      for (SimulatedSensor sensor : device.sensors()) {
        String event =
            String.format(
                Locale.ROOT,
                "{\"sensor_id\":\"%s\",\"device_id\":\"%s\",\"key\":\"%s\",\"threshold_id\":\"%s\","
                    + "\"threshold_type\":\"%s\",\"value\":%s,\"severity\":\"%s\"}",
                sensor.sensorId(),
                device.deviceId(),
                sensor.key(),
                sensor.thresholdId(),
                sensor.thresholdType(),
                sensor.thresholdValue(),
                sensor.severity());
        send(thresholdCreatedTopic, sensor.sensorId().toString(), event);
      }
    }
    producer.flush();
    ticker.scheduleAtFixedRate(this::tick, 0, 100, TimeUnit.MILLISECONDS);
    LOG.info(
        "Simulating {} devices at {} records/s on {}",
        devices.size(),
        recordsPerSecond,
        telemetryTopic);
  }

  private void tick() {
    try {
      owed += recordsPerSecond / 10;
      while (owed >= 1) {
        owed -= 1;
        Device device = devices.get((int) (next++ % devices.size()));
        if (random.nextInt(100) == 0) {
          sendBad(device);
        } else {
          send(telemetryTopic, device.deviceId().toString(), reading(device, Instant.now()));
        }
      }
    } catch (RuntimeException e) {
      LOG.warn("Simulator could not send: {}", e.toString());
    }
  }

  private String reading(Device device, Instant now) {
    double fraction = (now.toEpochMilli() % period.toMillis()) / (double) period.toMillis();
    StringBuilder values = new StringBuilder();
    for (SimulatedSensor sensor : device.sensors()) {
      if (values.length() > 0) {
        values.append(',');
      }
      double noise = random.nextGaussian() * sensor.amplitude() * 0.02;
      values
          .append('"')
          .append(sensor.key())
          .append("\":")
          .append(String.format(Locale.ROOT, "%.2f", sensor.valueAt(fraction, noise)));
    }
    String payload = "{\"ts\":\"" + now + "\",\"values\":{" + values + "}}";
    // EMQX splices the device's JSON in raw; some bridges deliver it as a string: do both.
    String spliced = random.nextBoolean() ? payload : "\"" + payload.replace("\"", "\\\"") + "\"";
    return "{\"place_id\":\""
        + device.placeId()
        + "\",\"device_id\":\""
        + device.deviceId()
        + "\",\"payload\":"
        + spliced
        + "}";
  }

  /** A record the job must dead-letter, with a reason, without stopping. */
  private void sendBad(Device device) {
    String key = device.deviceId().toString();
    switch (random.nextInt(4)) {
      case 0:
        send(telemetryTopic, key, "{\"place_id\": \"" + device.placeId() + "\", \"device_id\": ");
        break;
      case 1:
        send(
            telemetryTopic,
            key,
            "{\"place_id\":\""
                + device.placeId()
                + "\",\"device_id\":\""
                + key
                + "\",\"payload\":{\"values\":{\"temperature\":\"warm\"}}}");
        break;
      case 2:
        send(
            telemetryTopic,
            key,
            "{\"place_id\":\"not-a-place\",\"device_id\":\""
                + key
                + "\",\"payload\":{\"values\":{\"co2\":512}}}");
        break;
      default:
        send(
            telemetryTopic,
            key,
            "{\"place_id\":\""
                + device.placeId()
                + "\",\"device_id\":\""
                + key
                + "\",\"payload\":{\"ts\":\"1970-01-01T00:00:00Z\",\"values\":{\"humidity\":40}}}");
    }
  }

  private void send(String topic, String key, String value) {
    producer.send(
        new ProducerRecord<>(
            topic, key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)));
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    try {
      ticker.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(5));
  }
}
