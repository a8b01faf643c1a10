package io.placebrain.collector.storage;

import java.util.Arrays;
import java.util.Optional;

/** Whether a server that offers TimescaleDB also preloads it, which the extension requires. */
final class TimescalePreload {

  private TimescalePreload() {}

  /**
   * @param available the server offers the extension ({@code pg_available_extensions})
   * @param installed the extension is created in this database
   * @param sharedPreloadLibraries the server's {@code shared_preload_libraries}
   * @return what to fix, or empty when TimescaleDB is usable or not offered at all
   */
  static Optional<String> problem(
      boolean available, boolean installed, String sharedPreloadLibraries) {
    if (!available || preloads(sharedPreloadLibraries)) {
      return Optional.empty();
    }
    return Optional.of(
        "TimescaleDB is installed on this PostgreSQL server"
            + (installed ? " and created in this database" : "")
            + " but not preloaded (shared_preload_libraries = '"
            + (sharedPreloadLibraries == null ? "" : sharedPreloadLibraries)
            + "'), so the server ends any session that uses it. Add timescaledb to"
            + " shared_preload_libraries in postgresql.conf (e.g. shared_preload_libraries ="
            + " 'timescaledb') and restart PostgreSQL; to use plain PostgreSQL instead, remove"
            + " the TimescaleDB package from the server.");
  }

  private static boolean preloads(String libraries) {
    if (libraries == null) {
      return false;
    }
    return Arrays.stream(libraries.split(","))
        .map(name -> name.trim().replace("\"", ""))
        .anyMatch(name -> name.equals("timescaledb") || name.startsWith("timescaledb-"));
  }
}
