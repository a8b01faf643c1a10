package io.placebrain.collector.readings;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.ReadingsMaintenance;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.flink.connector.postgres.copy.ConnectionAction;
import java.time.Instant;

/** The storage work the readings sink does besides writing: schema on start, maintenance hourly. */
public final class ReadingsStorage {

  private ReadingsStorage() {}

  /** Creates or upgrades the schema; every writer runs it, the migration serialises them. */
  public static ConnectionAction migration(SchemaSettings settings) {
    return connection -> CollectorSchema.migrate(connection, settings);
  }

  /** Chunks ahead of use on TimescaleDB; partitions and retention on plain PostgreSQL. */
  public static ConnectionAction maintenance(SchemaSettings settings) {
    return connection ->
        ReadingsMaintenance.run(
            connection, CollectorSchema.detect(connection), settings, Instant.now());
  }
}
