package io.placebrain.collector.storage;

/** How the readings table is stored, decided by what the database offers. */
public enum StorageMode {
  /** A TimescaleDB hypertable with compression and retention policies run by TimescaleDB. */
  TIMESCALEDB,
  /** Plain PostgreSQL, range-partitioned by day; the product creates and drops partitions. */
  PARTITIONED,
  /**
   * A plain table created before this product managed the schema; kept as it is, with retention
   * carried out by deleting old rows.
   */
  UNPARTITIONED
}
