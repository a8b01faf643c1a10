package io.placebrain.collector.config;

import static io.placebrain.collector.config.Option.Kind.DURATION;

import java.time.Duration;

/**
 * How long readings are kept and when they are compressed: whichever of the job and the query
 * service creates the schema first sets the policies, so both must read the same values.
 */
public final class StorageOptions {

  public static final Option RETENTION =
      Option.of(
          "storage.retention",
          "90d",
          DURATION,
          "readings older than this are dropped (and rejected on arrival)");

  public static final Option COMPRESS_AFTER =
      Option.of(
          "storage.compress-after",
          "7d",
          DURATION,
          "TimescaleDB compresses chunks older than this");

  private StorageOptions() {}

  public static Duration retention(Settings settings) {
    return settings.duration(RETENTION.key());
  }

  public static Duration compressAfter(Settings settings) {
    return settings.duration(COMPRESS_AFTER.key());
  }
}
