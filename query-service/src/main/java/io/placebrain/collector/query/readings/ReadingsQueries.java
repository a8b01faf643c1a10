package io.placebrain.collector.query.readings;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusException;
import io.placebrain.collector.proto.AggregatedReading;
import io.placebrain.collector.proto.KeyReadings;
import io.placebrain.collector.proto.SensorReading;
import io.placebrain.collector.storage.StorageMode;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The readings queries. Each filters on the device (and keys) first, so each is answered from the
 * {@code (device_id, key, time DESC)} index; every value is a bound parameter.
 */
public final class ReadingsQueries {

  /** The most rows one answer may carry. */
  public static final int MAX_ROWS = 50_000;

  /**
   * Latest reading per key without reading every row of the device: a recursive walk that jumps
   * from one key to the next through the index ("loose index scan"), then one index probe per key
   * for its newest row. Cost grows with the number of keys, not with months of data.
   */
  static final String LATEST =
      "WITH RECURSIVE keys AS ("
          + " (SELECT key FROM readings WHERE device_id = ? ORDER BY key LIMIT 1)"
          + " UNION ALL"
          + " SELECT (SELECT r.key FROM readings r"
          + "   WHERE r.device_id = ? AND r.key > keys.key ORDER BY r.key LIMIT 1)"
          + " FROM keys WHERE keys.key IS NOT NULL)"
          + " SELECT latest.key, latest.value, latest.time FROM keys CROSS JOIN LATERAL"
          + " (SELECT r.key, r.value, r.time FROM readings r"
          + "   WHERE r.device_id = ? AND r.key = keys.key ORDER BY r.time DESC LIMIT 1) latest"
          + " WHERE keys.key IS NOT NULL ORDER BY latest.key LIMIT ?";

  static final String RAW =
      "SELECT key, time, value FROM readings"
          + " WHERE device_id = ? %KEYS% AND time >= ? AND time < ?"
          + " ORDER BY key, time LIMIT ?";

  static final String GAPFILL_TIMESCALE =
      "SELECT time_bucket_gapfill(make_interval(secs => ?), time, ?, ?) AS bucket, key,"
          + " avg(value), min(value), max(value) FROM readings"
          + " WHERE device_id = ? %KEYS% AND time >= ? AND time < ?"
          + " GROUP BY key, bucket ORDER BY key, bucket LIMIT ?";

  /**
   * The plain-SQL equivalent of {@code time_bucket_gapfill}: every bucket of the range for every
   * key that has readings in it, empty buckets without values.
   */
  static final String GAPFILL_PLAIN =
      "WITH filled AS ("
          + "   SELECT date_bin(make_interval(secs => ?), time, "
          + Buckets.ORIGIN_SQL
          + ") AS bucket, key, avg(value) AS avg, min(value) AS min, max(value) AS max"
          + "   FROM readings"
          + "   WHERE device_id = ? %KEYS% AND time >= ? AND time < ?"
          + "   GROUP BY 1, 2),"
          + " keys AS (SELECT DISTINCT key FROM filled),"
          + " buckets AS (SELECT generate_series(date_bin(make_interval(secs => ?), ?::timestamptz, "
          + Buckets.ORIGIN_SQL
          + "), ?::timestamptz - INTERVAL '1 microsecond', make_interval(secs => ?)) AS bucket)"
          + " SELECT buckets.bucket, keys.key, filled.avg, filled.min, filled.max"
          + " FROM keys CROSS JOIN buckets"
          + " LEFT JOIN filled ON filled.key = keys.key AND filled.bucket = buckets.bucket"
          + " ORDER BY keys.key, buckets.bucket LIMIT ?";

  /** Stands for the key condition: absent for all keys, a bound array for some. */
  private static final String KEYS = "%KEYS%";

  private final StorageMode mode;

  public ReadingsQueries(StorageMode mode) {
    this.mode = mode;
  }

  public List<SensorReading> latest(Connection connection, UUID device)
      throws SQLException, StatusException {
    List<SensorReading> readings = new ArrayList<>();
    try (PreparedStatement statement = connection.prepareStatement(LATEST)) {
      statement.setObject(1, device);
      statement.setObject(2, device);
      statement.setObject(3, device);
      statement.setInt(4, MAX_ROWS + 1);
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          readings.add(reading(rows.getString(1), rows.getDouble(2), time(rows, 3)));
        }
      }
    }
    requireWithinLimit(readings.size(), "keys");
    return readings;
  }

  /** Raw readings per key, keys in order, each key's points in time order. */
  public List<KeyReadings> raw(Connection connection, ReadingsRange range)
      throws SQLException, StatusException {
    List<KeyReadings> series = new ArrayList<>();
    try (PreparedStatement statement = connection.prepareStatement(withKeys(RAW, range))) {
      int next = bindRange(connection, statement, 1, range);
      statement.setInt(next, MAX_ROWS + 1);
      try (ResultSet rows = statement.executeQuery()) {
        KeyReadings.Builder current = null;
        int count = 0;
        while (rows.next()) {
          requireWithinLimit(++count, "raw points; narrow the range or the keys, or aggregate");
          String key = rows.getString(1);
          if (current == null || !current.getKey().equals(key)) {
            current = add(series, current, key);
          }
          current.addRawPoints(reading(key, rows.getDouble(3), time(rows, 2)));
        }
        add(series, current, null);
      }
    }
    return series;
  }

  /**
   * Gap-filled avg/min/max buckets per key with readings in the range; empty buckets carry none.
   */
  public List<KeyReadings> aggregates(Connection connection, ReadingsRange range, Duration width)
      throws SQLException, StatusException {
    List<KeyReadings> series = new ArrayList<>();
    int seconds = Math.toIntExact(width.getSeconds());
    try (PreparedStatement statement =
        connection.prepareStatement(withKeys(aggregatesSql(mode), range))) {
      int next = bindAggregates(connection, statement, mode, range, seconds);
      statement.setInt(next, MAX_ROWS + 1);
      try (ResultSet rows = statement.executeQuery()) {
        KeyReadings.Builder current = null;
        int count = 0;
        while (rows.next()) {
          requireWithinLimit(
              ++count, "buckets; use a longer interval, a shorter range or fewer keys");
          String key = rows.getString(2);
          if (current == null || !current.getKey().equals(key)) {
            current = add(series, current, key);
          }
          AggregatedReading.Builder point = AggregatedReading.newBuilder().setTime(time(rows, 1));
          double avg = rows.getDouble(3);
          if (!rows.wasNull()) {
            point.setAvg(avg).setMin(rows.getDouble(4)).setMax(rows.getDouble(5));
          }
          current.addPoints(point);
        }
        add(series, current, null);
      }
    }
    return series;
  }

  /** Binds an aggregate query's parameters but the limit; returns the limit's index. */
  static int bindAggregates(
      Connection connection,
      PreparedStatement statement,
      StorageMode mode,
      ReadingsRange range,
      int seconds)
      throws SQLException {
    statement.setInt(1, seconds);
    if (mode == StorageMode.TIMESCALEDB) {
      statement.setObject(2, time(range.from()));
      statement.setObject(3, time(range.to()));
      return bindRange(connection, statement, 4, range);
    }
    int next = bindRange(connection, statement, 2, range);
    statement.setInt(next++, seconds);
    statement.setObject(next++, time(range.from()));
    statement.setObject(next++, time(range.to()));
    statement.setInt(next++, seconds);
    return next;
  }

  /** The aggregate statement for a storage mode. */
  static String aggregatesSql(StorageMode mode) {
    return mode == StorageMode.TIMESCALEDB ? GAPFILL_TIMESCALE : GAPFILL_PLAIN;
  }

  /**
   * Two statements rather than one with "all keys or these": a generic plan of the combined form
   * could not use the key column of the index.
   */
  static String withKeys(String sql, ReadingsRange range) {
    return sql.replace(KEYS, range.keys().isEmpty() ? "" : "AND key = ANY (?)");
  }

  /** Binds device, keys (if any), from, to from {@code index}; returns the next free index. */
  static int bindRange(
      Connection connection, PreparedStatement statement, int index, ReadingsRange range)
      throws SQLException {
    statement.setObject(index++, range.deviceId());
    if (!range.keys().isEmpty()) {
      Array keys = connection.createArrayOf("text", range.keys().toArray());
      statement.setArray(index++, keys);
    }
    statement.setObject(index++, time(range.from()));
    statement.setObject(index++, time(range.to()));
    return index;
  }

  private static KeyReadings.Builder add(
      List<KeyReadings> series, KeyReadings.Builder finished, String nextKey) {
    if (finished != null) {
      series.add(finished.build());
    }
    return nextKey == null ? null : KeyReadings.newBuilder().setKey(nextKey);
  }

  private static void requireWithinLimit(int rows, String what) throws StatusException {
    if (rows > MAX_ROWS) {
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("the answer would hold more than " + MAX_ROWS + " " + what)
          .asException();
    }
  }

  private static SensorReading reading(String key, double value, Timestamp time) {
    return SensorReading.newBuilder().setKey(key).setValue(value).setTime(time).build();
  }

  private static OffsetDateTime time(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }

  private static Timestamp time(ResultSet rows, int column) throws SQLException {
    Instant instant = rows.getObject(column, OffsetDateTime.class).toInstant();
    return Timestamp.newBuilder()
        .setSeconds(instant.getEpochSecond())
        .setNanos(instant.getNano())
        .build();
  }
}
