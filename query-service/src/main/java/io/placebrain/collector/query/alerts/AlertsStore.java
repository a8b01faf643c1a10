package io.placebrain.collector.query.alerts;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** Reads and resolves rows of {@code alerts}; every value is a bound parameter. */
public final class AlertsStore {

  /** One page of alerts and how many match in all. */
  public record Page(List<AlertRow> items, long total) {}

  public Page page(Connection connection, AlertFilter filter, int page, int perPage)
      throws SQLException {
    List<Object> parameters = new ArrayList<>();
    String where = where(filter, parameters);
    long total;
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT count(*) FROM alerts WHERE " + where)) {
      bind(statement, parameters);
      try (ResultSet row = statement.executeQuery()) {
        row.next();
        total = row.getLong(1);
      }
    }
    List<AlertRow> items = new ArrayList<>();
    if (total > (long) (page - 1) * perPage) {
      try (PreparedStatement statement =
          connection.prepareStatement(
              "SELECT "
                  + AlertRow.COLUMNS
                  + " FROM alerts WHERE "
                  + where
                  + " ORDER BY created_at DESC, id LIMIT ? OFFSET ?")) {
        parameters.add(perPage);
        parameters.add((long) (page - 1) * perPage);
        bind(statement, parameters);
        try (ResultSet rows = statement.executeQuery()) {
          while (rows.next()) {
            items.add(AlertRow.read(rows));
          }
        }
      }
    }
    return new Page(items, total);
  }

  /** The condition for a filter; only fixed SQL text, the values go to {@code parameters}. */
  private static String where(AlertFilter filter, List<Object> parameters) {
    StringBuilder where = new StringBuilder("place_id = ?");
    parameters.add(filter.placeId());
    condition(where, parameters, "status = ?", filter.status());
    condition(where, parameters, "severity = ?", filter.severity());
    condition(where, parameters, "sensor_id = ?", filter.sensorId());
    condition(where, parameters, "device_id = ?", filter.deviceId());
    condition(where, parameters, "created_at >= ?", time(filter.from()));
    condition(where, parameters, "created_at < ?", time(filter.to()));
    return where.toString();
  }

  private static void condition(
      StringBuilder where, List<Object> parameters, String sql, Object value) {
    if (value != null) {
      where.append(" AND ").append(sql);
      parameters.add(value);
    }
  }

  private static OffsetDateTime time(Instant instant) {
    return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
  }

  private static void bind(PreparedStatement statement, List<Object> parameters)
      throws SQLException {
    for (int i = 0; i < parameters.size(); i++) {
      statement.setObject(i + 1, parameters.get(i));
    }
  }

  /** Unresolved alerts per place; places without any are absent. */
  public Map<UUID, Long> unresolvedCounts(Connection connection, Collection<UUID> places)
      throws SQLException {
    Map<UUID, Long> counts = new HashMap<>();
    Array ids = connection.createArrayOf("uuid", places.toArray());
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT place_id, count(*) FROM alerts"
                + " WHERE place_id = ANY (?) AND status = 'active' GROUP BY place_id")) {
      statement.setArray(1, ids);
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          counts.put(rows.getObject(1, UUID.class), rows.getLong(2));
        }
      }
    } finally {
      ids.free();
    }
    return counts;
  }

  /** The alert, locked until the transaction ends so a concurrent resolve waits for this one. */
  public Optional<AlertRow> lock(Connection connection, UUID id) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT " + AlertRow.COLUMNS + " FROM alerts WHERE id = ? FOR UPDATE")) {
      statement.setObject(1, id);
      try (ResultSet row = statement.executeQuery()) {
        return row.next() ? Optional.of(AlertRow.read(row)) : Optional.empty();
      }
    }
  }

  /** Marks an active alert resolved now (the transaction's time) and returns the new row. */
  public AlertRow markResolved(Connection connection, UUID id) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE alerts SET status = 'resolved', resolved_at = now()"
                + " WHERE id = ? RETURNING "
                + AlertRow.COLUMNS)) {
      statement.setObject(1, id);
      try (ResultSet row = statement.executeQuery()) {
        if (!row.next()) {
          throw new SQLException("Alert " + id + " vanished while locked");
        }
        return AlertRow.read(row);
      }
    }
  }
}
