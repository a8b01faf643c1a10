package io.placebrain.collector.bench;

import io.placebrain.collector.telemetry.Reading;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/**
 * The rows every throughput figure writes: row {@code i} is the same reading everywhere (device
 * {@code i % devices}, one of three keys, one millisecond apart, within the last hours).
 */
final class BenchRows implements Serializable {

  private static final long serialVersionUID = 1L;

  static final String[] KEYS = {"temperature", "humidity", "co2"};

  private final UUID[] devices;
  private final UUID place = UUID.nameUUIDFromBytes("bench-place".getBytes(StandardCharsets.UTF_8));
  private final long startMicros;

  BenchRows(int devices) {
    this.devices = new UUID[devices];
    for (int i = 0; i < devices; i++) {
      this.devices[i] =
          UUID.nameUUIDFromBytes(("bench-device-" + i).getBytes(StandardCharsets.UTF_8));
    }
    // Old enough that a whole run stays in the past, young enough to stay in today's partitions.
    this.startMicros =
        ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now().minus(3, ChronoUnit.HOURS));
  }

  UUID[] deviceIds() {
    return devices.clone();
  }

  Reading reading(long i) {
    return new Reading(
        startMicros + i * 1000,
        devices[(int) (i % devices.length)],
        place,
        KEYS[(int) ((i / devices.length) % KEYS.length)],
        (i % 1000) / 10.0);
  }

  /**
   * Telemetry record {@code r} as EMQX bridges it, carrying readings {@code 3r}, {@code 3r+1},
   * {@code 3r+2} of one device: the same rows as {@link #reading} for a record-major order.
   */
  String record(long r) {
    UUID device = devices[(int) (r % devices.length)];
    Instant time = Instant.EPOCH.plus(startMicros + r * 1000, ChronoUnit.MICROS);
    return "{\"place_id\":\""
        + place
        + "\",\"device_id\":\""
        + device
        + "\",\"payload\":{\"ts\":\""
        + time
        + "\",\"values\":{\"temperature\":"
        + (r % 300) / 10.0
        + ",\"humidity\":"
        + (r % 500) / 10.0
        + ",\"co2\":"
        + (400 + r % 600)
        + "}}}";
  }

  int devices() {
    return devices.length;
  }

  UUID device(int d) {
    return devices[d];
  }

  String recordKey(long r) {
    return devices[(int) (r % devices.length)].toString();
  }
}
