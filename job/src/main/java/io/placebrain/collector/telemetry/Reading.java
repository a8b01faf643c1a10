package io.placebrain.collector.telemetry;

import io.placebrain.collector.telemetry.internal.ReadingTypeInfoFactory;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;
import org.apache.flink.api.common.typeinfo.TypeInfo;

/**
 * One valid reading: a row of {@code readings} (time, device, key, value) plus the place it belongs
 * to. Ids are kept as two longs each; Flink serialises readings with a hand-written serializer
 * ({@link io.placebrain.collector.telemetry.internal.ReadingSerializer}), not reflectively.
 */
@TypeInfo(ReadingTypeInfoFactory.class)
public class Reading {

  /** Microseconds since the epoch, the precision PostgreSQL stores. */
  public long timeMicros;

  public long deviceIdHigh;
  public long deviceIdLow;
  public long placeIdHigh;
  public long placeIdLow;
  public String key;
  public double value;

  /**
   * Set on a marker that is not a reading: the device was deleted. It travels the readings path
   * behind the device's last readings, so its stored data is deleted after they are committed.
   */
  public boolean deviceDeletion;

  public Reading() {}

  /** The marker for a deleted device (see {@link #deviceDeletion}). */
  public static Reading deletionOf(UUID deviceId) {
    Reading marker = new Reading();
    marker.deviceIdHigh = deviceId.getMostSignificantBits();
    marker.deviceIdLow = deviceId.getLeastSignificantBits();
    marker.deviceDeletion = true;
    return marker;
  }

  public Reading(long timeMicros, UUID deviceId, UUID placeId, String key, double value) {
    this.timeMicros = timeMicros;
    this.deviceIdHigh = deviceId.getMostSignificantBits();
    this.deviceIdLow = deviceId.getLeastSignificantBits();
    this.placeIdHigh = placeId.getMostSignificantBits();
    this.placeIdLow = placeId.getLeastSignificantBits();
    this.key = key;
    this.value = value;
  }

  public UUID deviceId() {
    return new UUID(deviceIdHigh, deviceIdLow);
  }

  public UUID placeId() {
    return new UUID(placeIdHigh, placeIdLow);
  }

  public Instant time() {
    // Not via nanoseconds: a long of them ends in 2262, PostgreSQL's timestamps do not.
    return Instant.ofEpochSecond(
        Math.floorDiv(timeMicros, 1_000_000L), Math.floorMod(timeMicros, 1_000_000L) * 1000L);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Reading)) {
      return false;
    }
    Reading other = (Reading) o;
    return timeMicros == other.timeMicros
        && deviceIdHigh == other.deviceIdHigh
        && deviceIdLow == other.deviceIdLow
        && placeIdHigh == other.placeIdHigh
        && placeIdLow == other.placeIdLow
        && deviceDeletion == other.deviceDeletion
        && Objects.equals(key, other.key)
        && Double.compare(value, other.value) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(timeMicros, deviceIdHigh, deviceIdLow, key, value);
  }

  @Override
  public String toString() {
    return deviceDeletion
        ? "deletion of " + deviceId()
        : time() + " " + deviceId() + " " + key + "=" + value;
  }
}
