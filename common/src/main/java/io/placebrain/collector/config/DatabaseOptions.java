package io.placebrain.collector.config;

import static io.placebrain.collector.config.Option.Kind.TEXT;

/** The database settings the job, the query service and the local stack share. */
public final class DatabaseOptions {

  public static final Option URL =
      Option.of(
          "database.url",
          "jdbc:postgresql://localhost:5432/telemetry_db",
          TEXT,
          "PostgreSQL or TimescaleDB");

  public static final Option USER =
      Option.of("database.user", "collector", TEXT, "empty: the driver takes it from the URL");

  public static final Option PASSWORD =
      new Option("database.password", "collector", "empty: none", TEXT, true);

  private DatabaseOptions() {}

  public static String url(Settings settings) {
    return settings.get(URL.key());
  }

  /** Null when empty: the driver then takes the user from the URL. */
  public static String user(Settings settings) {
    return settings.optional(USER.key());
  }

  /** Null when empty. */
  public static String password(Settings settings) {
    return settings.optional(PASSWORD.key());
  }
}
