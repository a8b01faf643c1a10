package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.proto.GetAlertCountsRequest;
import io.placebrain.collector.proto.GetAlertsRequest;
import io.placebrain.collector.proto.GetReadingsRequest;
import io.placebrain.collector.proto.GetReadingsResponse;
import io.placebrain.collector.proto.ResolveAlertRequest;
import io.placebrain.collector.testing.FreshDatabase;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What one client can take from the service: request size, streams per connection, keepalive pings,
 * and heavy queries (bounded, queued, then refused while light calls still answer).
 */
class GreedyClientITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static Map<String, String> quiet(Map<String, String> settings) {
    Map<String, String> all = new HashMap<>(settings);
    all.put("kafka.bootstrap-servers", "");
    all.put("mqtt.server", "");
    return all;
  }

  @Test
  void requestsLargerThanTheInboundLimitAreRefused() throws Exception {
    try (QueryServiceHarness harness =
        new QueryServiceHarness(
            DB.get(), quiet(Map.of("server.max-inbound-message-size", "1024")))) {
      GetAlertCountsRequest.Builder small = GetAlertCountsRequest.newBuilder();
      small.addPlaceId(UUID.randomUUID().toString());
      assertThat(harness.client().getAlertCounts(small.build()).getTotalUnresolved()).isZero();

      GetAlertCountsRequest.Builder large = GetAlertCountsRequest.newBuilder();
      for (int i = 0; i < 100; i++) {
        large.addPlaceId(UUID.randomUUID().toString());
      }
      assertThat(large.build().getSerializedSize()).isGreaterThan(1024);
      assertThatThrownBy(() -> harness.client().getAlertCounts(large.build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    }
  }

  private static final int SETTINGS = 0x4;
  private static final int PING = 0x6;
  private static final int GOAWAY = 0x7;
  private static final int SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
  private static final int SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;
  private static final int ENHANCE_YOUR_CALM = 0xb;

  /**
   * Speaks HTTP/2 frames directly, to see what the server tells every client and what it does to
   * one that misbehaves.
   */
  @Test
  void theServerAdvertisesItsStreamLimitAndDisconnectsAPingFlood() throws Exception {
    try (QueryServiceHarness harness =
            new QueryServiceHarness(
                DB.get(),
                quiet(
                    Map.of(
                        "server.max-concurrent-calls-per-connection", "3",
                        "server.max-inbound-metadata-size", "4096")));
        Socket socket = new Socket("127.0.0.1", harness.service.port())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      writeFrame(out, SETTINGS, 0, new byte[0]);

      Frame settings = readFrame(in);
      while (settings.type != SETTINGS || (settings.flags & 0x1) != 0) {
        settings = readFrame(in);
      }
      Map<Integer, Long> values = new HashMap<>();
      ByteBuffer payload = ByteBuffer.wrap(settings.payload);
      while (payload.remaining() >= 6) {
        values.put(payload.getShort() & 0xffff, payload.getInt() & 0xffffffffL);
      }
      assertThat(values)
          .containsEntry(SETTINGS_MAX_CONCURRENT_STREAMS, 3L)
          .containsEntry(SETTINGS_MAX_HEADER_LIST_SIZE, 4096L);
      writeFrame(out, SETTINGS, 0x1, new byte[0]);

      // Pings without any call running are allowed once per two hours; a flood is cut off.
      for (int i = 0; i < 5; i++) {
        writeFrame(out, PING, 0, new byte[8]);
      }
      Frame frame = readFrame(in);
      while (frame.type != GOAWAY) {
        frame = readFrame(in);
      }
      ByteBuffer goAway = ByteBuffer.wrap(frame.payload);
      goAway.getInt(); // last stream id
      assertThat(goAway.getInt()).isEqualTo(ENHANCE_YOUR_CALM);
      byte[] debug = new byte[goAway.remaining()];
      goAway.get(debug);
      assertThat(new String(debug, StandardCharsets.UTF_8)).contains("too_many_pings");
    }
  }

  private record Frame(int type, int flags, byte[] payload) {}

  private static void writeFrame(OutputStream out, int type, int flags, byte[] payload)
      throws IOException {
    ByteBuffer frame = ByteBuffer.allocate(9 + payload.length);
    frame.put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8));
    frame.put((byte) payload.length).put((byte) type).put((byte) flags).putInt(0).put(payload);
    out.write(frame.array());
    out.flush();
  }

  private static Frame readFrame(DataInputStream in) throws IOException {
    int length =
        (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
    int type = in.readUnsignedByte();
    int flags = in.readUnsignedByte();
    in.readInt();
    byte[] payload = new byte[length];
    in.readFully(payload);
    return new Frame(type, flags, payload);
  }

  @Test
  void heavyQueriesBeyondTheBoundQueueThenAreRefusedWhileLightCallsAnswer() throws Exception {
    try (QueryServiceHarness harness =
            new QueryServiceHarness(
                DB.get(),
                quiet(
                    Map.of(
                        "query.max-concurrent", "1",
                        "query.max-queued", "1",
                        "database.pool-size", "3",
                        "server.threads", "4")));
        Connection lock = DB.get().connect()) {
      lock.setAutoCommit(false);
      try (Statement statement = lock.createStatement()) {
        statement.execute("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE");
      }
      CollectorServiceGrpc.CollectorServiceFutureStub async =
          CollectorServiceGrpc.newFutureStub(harness.channel)
              .withDeadlineAfter(60, TimeUnit.SECONDS);
      Instant to = Instant.now().truncatedTo(ChronoUnit.HOURS);
      GetReadingsRequest request =
          GetReadingsRequest.newBuilder()
              .setDeviceId(UUID.randomUUID().toString())
              .setFrom(ts(to.minus(1, ChronoUnit.HOURS)))
              .setTo(ts(to))
              .build();

      // The first heavy call runs (and waits for the table lock in the database) ...
      ListenableFuture<GetReadingsResponse> running = async.getReadings(request);
      await(() -> waitingOnLock() == 1);
      // ... the second waits for its turn ...
      ListenableFuture<GetReadingsResponse> queued = async.getReadings(request);
      await(() -> harness.service.heavyQueries().queued() == 1);
      // ... and the third is refused at once.
      assertThatThrownBy(
              () ->
                  harness
                      .client()
                      .getAlerts(
                          GetAlertsRequest.newBuilder()
                              .setPlaceId(UUID.randomUUID().toString())
                              .build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                assertThat(e.getStatus().getDescription()).contains("query.max-concurrent");
              });
      // A light call still finds a thread and a connection.
      assertThatThrownBy(
              () ->
                  harness
                      .client()
                      .resolveAlert(
                          ResolveAlertRequest.newBuilder()
                              .setAlertId(UUID.randomUUID().toString())
                              .build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));

      lock.rollback();
      assertThat(running.get(30, TimeUnit.SECONDS).getSeriesList()).isEmpty();
      assertThat(queued.get(30, TimeUnit.SECONDS).getSeriesList()).isEmpty();
      assertThat(harness.service.heavyQueries().running()).isZero();
    }
  }

  private static long waitingOnLock() {
    try {
      return DB.get()
          .queryLong(
              "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                  + " AND application_name = 'collector-query-service' AND wait_event_type = 'Lock'");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Polls for a condition that must become true; fails after a generous bound. */
  private static void await(BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("condition not met within 30 s");
      }
      Thread.sleep(20);
    }
  }

  private static Timestamp ts(Instant instant) {
    return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).build();
  }
}
