package io.placebrain.collector.query;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.kafka.TestKafka;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** A query service on a free port against the test services, and a client for it. */
final class QueryServiceHarness implements AutoCloseable {

  final TestDatabase database;
  final String deviceDeletedTopic = TestKafka.uniqueTopic("devices.device.deleted");
  final String bulkDeletedTopic = TestKafka.uniqueTopic("devices.device.bulk-deleted");
  final QueryService service;
  final ManagedChannel channel;

  QueryServiceHarness(TestDatabase database, Map<String, String> overrides) throws Exception {
    this.database = database;
    TestServices.kafka().createTopic(deviceDeletedTopic, 1);
    TestServices.kafka().createTopic(bulkDeletedTopic, 1);
    Map<String, String> settings = new HashMap<>(config(database));
    settings.put("kafka.device-deleted-topic", deviceDeletedTopic);
    settings.put("kafka.devices-bulk-deleted-topic", bulkDeletedTopic);
    settings.put("kafka.group-id", "query-" + UUID.randomUUID());
    settings.putAll(overrides);
    this.service =
        QueryService.start(QueryServiceConfig.from(new String[0], Map.of()).with(settings));
    this.channel =
        NettyChannelBuilder.forAddress("127.0.0.1", service.port()).usePlaintext().build();
  }

  /** Settings pointing at the test services, on a free port. */
  static Map<String, String> config(TestDatabase database) {
    Map<String, String> settings = new HashMap<>();
    settings.put("server.port", "0");
    settings.put("server.host", "127.0.0.1");
    settings.put("server.shutdown-grace", "2s");
    settings.put("database.url", database.jdbcUrl());
    settings.put("database.user", database.user() == null ? "" : database.user());
    settings.put("database.password", database.password() == null ? "" : database.password());
    settings.put("kafka.bootstrap-servers", TestServices.kafka().bootstrapServers());
    settings.put("mqtt.server", TestServices.mqtt().serverUri());
    settings.put("mqtt.version", "5");
    settings.put("mqtt.client-id", "query-" + UUID.randomUUID());
    settings.put("mqtt.ack-timeout", "2s");
    return settings;
  }

  CollectorServiceGrpc.CollectorServiceBlockingStub client() {
    return CollectorServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  void insertReading(UUID device, String key, Instant time, double value) throws SQLException {
    try (Connection connection = database.connect();
        PreparedStatement statement =
            connection.prepareStatement(
                "INSERT INTO readings (time, device_id, key, value) VALUES (?, ?, ?, ?)")) {
      statement.setObject(1, time.atOffset(ZoneOffset.UTC));
      statement.setObject(2, device);
      statement.setString(3, key);
      statement.setDouble(4, value);
      statement.executeUpdate();
    }
  }

  /** An alert row as the job writes it. */
  void insertAlert(
      UUID id, UUID place, UUID device, String status, String severity, Instant createdAt)
      throws SQLException {
    try (Connection connection = database.connect();
        PreparedStatement statement =
            connection.prepareStatement(
                "INSERT INTO alerts (id, sensor_id, threshold_id, device_id, place_id, key, value,"
                    + " threshold_value, threshold_type, severity, status, created_at, resolved_at)"
                    + " VALUES (?, ?, ?, ?, ?, 'temperature', 31.5, 30, 'max', ?, ?, ?, ?)")) {
      statement.setObject(1, id);
      statement.setObject(2, UUID.nameUUIDFromBytes(("sensor" + device).getBytes()));
      statement.setObject(3, UUID.nameUUIDFromBytes(("threshold" + device).getBytes()));
      statement.setObject(4, device);
      statement.setObject(5, place);
      statement.setString(6, severity);
      statement.setString(7, status);
      statement.setObject(8, createdAt.atOffset(ZoneOffset.UTC));
      statement.setObject(
          9, "resolved".equals(status) ? createdAt.plusSeconds(60).atOffset(ZoneOffset.UTC) : null);
      statement.executeUpdate();
    }
  }

  long count(String sql) throws SQLException {
    return database.queryLong(sql);
  }

  @Override
  public void close() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    service.close();
  }
}
