package io.placebrain.collector.bench;

import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.proto.GetLatestReadingsRequest;
import io.placebrain.collector.proto.GetReadingsRequest;
import io.placebrain.collector.query.QueryService;
import io.placebrain.collector.query.QueryServiceConfig;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * GetLatestReadings and a 30-day hourly GetReadings for one device over gRPC, against a table of
 * {@code devices × 5 keys × 30 days every 5 minutes} rows (10.8 million for 250 devices).
 */
final class QueryLatency {

  private final int devices;

  QueryLatency(int devices) {
    this.devices = devices;
  }

  long rows() {
    return devices * 5L * 8640;
  }

  /**
   * p99 in ms per run: {latest runs, aggregate runs}. Then, on the same table, {@code load} (may be
   * null).
   */
  double[][] measure(int runs, int latestCalls, int aggregateCalls, QueryLoad load)
      throws Exception {
    double[][] result = new double[2][runs];
    Throughput.withDatabase(
        db -> {
          load(db);
          Map<String, String> settings =
              Map.of(
                  "server.port", "0",
                  "server.host", "127.0.0.1",
                  "database.url", db.jdbcUrl(),
                  "database.user", db.user(),
                  "database.password", db.password() == null ? "" : db.password(),
                  "kafka.bootstrap-servers", "",
                  "mqtt.server", "");
          try (QueryService service =
              QueryService.start(QueryServiceConfig.from(new String[0], Map.of()).with(settings))) {
            ManagedChannel channel =
                NettyChannelBuilder.forAddress("127.0.0.1", service.port()).usePlaintext().build();
            try {
              var client = CollectorServiceGrpc.newBlockingStub(channel);
              String device = device(0).toString();
              Instant now = Instant.now().truncatedTo(ChronoUnit.HOURS);
              Runnable latest =
                  () ->
                      client
                          .withDeadlineAfter(10, TimeUnit.SECONDS)
                          .getLatestReadings(
                              GetLatestReadingsRequest.newBuilder().setDeviceId(device).build());
              Runnable aggregate =
                  () ->
                      client
                          .withDeadlineAfter(30, TimeUnit.SECONDS)
                          .getReadings(
                              GetReadingsRequest.newBuilder()
                                  .setDeviceId(device)
                                  .setFrom(ts(now.minus(30, ChronoUnit.DAYS)))
                                  .setTo(ts(now))
                                  .setIntervalSeconds(3600)
                                  .build());
              time(latest, Math.max(20, latestCalls / 4)); // warm-up
              time(aggregate, Math.max(3, aggregateCalls / 4));
              for (int run = 0; run < runs; run++) {
                result[0][run] = Figure.percentile(time(latest, latestCalls), 99);
                result[1][run] = Figure.percentile(time(aggregate, aggregateCalls), 99);
              }
            } finally {
              channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
          }
          if (load != null) {
            load.run(db, devices);
          }
          return 0;
        });
    return result;
  }

  private static double[] time(Runnable call, int calls) {
    double[] millis = new double[calls];
    for (int i = 0; i < calls; i++) {
      long started = System.nanoTime();
      call.run();
      millis[i] = (System.nanoTime() - started) / 1e6;
    }
    return millis;
  }

  private void load(TestDatabase db) throws Exception {
    Instant now = Instant.now().truncatedTo(ChronoUnit.MINUTES);
    // Server-side generation: five keys per device, every 5 minutes for 30 days.
    db.execute(
        "INSERT INTO readings (time, device_id, key, value)"
            + " SELECT timestamptz '"
            + now
            + "' - i * interval '5 minutes',"
            + " ('00000000-0000-4000-8000-' || lpad(d::text, 12, '0'))::uuid,"
            + " 'key' || k, random() * 100"
            + " FROM generate_series(0, 8639) AS i, generate_series(0, "
            + (devices - 1)
            + ") AS d, generate_series(1, 5) AS k");
    db.execute("ANALYZE");
  }

  static UUID device(int d) {
    return UUID.fromString(String.format("00000000-0000-4000-8000-%012d", d));
  }

  private static Timestamp ts(Instant instant) {
    return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).build();
  }
}
