package io.placebrain.collector.bench;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * A fresh database with the schema for every run, copied from one template migrated once: on
 * TimescaleDB the migration creates the hypertable and its 94 daily chunks, which took most of a
 * quick run when done per run. Where the server refuses the copy (a session still in the template),
 * each run migrates its own database as before, and says so once.
 */
final class BenchDatabases {

  private static TestDatabase template;
  private static boolean copyRefused;

  private BenchDatabases() {}

  static synchronized TestDatabase create() throws Exception {
    if (template == null) {
      template = migrated(TestServices.postgres().createDatabase());
    }
    if (!copyRefused) {
      try {
        return TestServices.postgres().copyDatabase(template);
      } catch (SQLException e) {
        copyRefused = true;
        System.out.println(
            "Copying the template database was refused ("
                + e.getMessage()
                + "); each run migrates its own database");
      }
    }
    return migrated(TestServices.postgres().createDatabase());
  }

  private static TestDatabase migrated(TestDatabase db) throws Exception {
    try (Connection connection = db.connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    return db;
  }

  /** Drops the template, before the server stops (an external server keeps no leftover). */
  static synchronized void dropTemplate() {
    if (template != null) {
      try {
        template.drop();
      } catch (RuntimeException e) {
        System.err.println("Could not drop the template database " + template + ": " + e);
      }
      template = null;
    }
  }
}
