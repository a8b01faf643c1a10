package io.placebrain.collector.bench;

import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.placebrain.collector.job.CollectorJob;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.proto.GetAlertsRequest;
import io.placebrain.collector.proto.GetLatestReadingsRequest;
import io.placebrain.collector.proto.GetReadingsRequest;
import io.placebrain.collector.query.QueryService;
import io.placebrain.collector.query.QueryServiceConfig;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The query service under concurrent load while the job ingests: {@code clients} threads, each with
 * its own connection, call without pause a mix of GetLatestReadings (4 in 10), 2-hour raw
 * GetReadings (2), 24-hour hourly GetReadings (2) and GetAlerts (2) for random devices and places,
 * on the table {@link QueryLatency} loaded, while the whole job stores a steady {@value
 * #RECORDS_PER_SECOND} telemetry records (3 readings each) per second into the same database. Each
 * window counts calls started in it; between windows a full collection samples the live heap.
 */
final class QueryLoad {

  static final String[] RPCS = {"latest", "raw_2h", "hourly_24h", "alerts"};
  private static final int RECORDS_PER_SECOND = 1000;
  private static final int PLACES = 20;
  private static final int ALERTS = 20_000;

  /** One window's measurements; latencies in ms per RPC of {@link #RPCS}. */
  record Window(
      double callsPerSecond,
      double[] p50,
      double[] p99,
      long resourceExhausted,
      long errors,
      double ingestRowsPerSecond,
      double liveHeapMb) {}

  private final int clients;
  private final Duration warmUp;
  private final Duration window;
  private final int windows;
  private final List<Window> results = new ArrayList<>();
  private double idleHeapMb;
  private String firstError;

  QueryLoad(int clients, Duration warmUp, Duration window, int windows) {
    this.clients = clients;
    this.warmUp = warmUp;
    this.window = window;
    this.windows = windows;
  }

  List<Window> results() {
    return results;
  }

  /** Live heap with the job ingesting and the service up, before any client calls. */
  double idleHeapMb() {
    return idleHeapMb;
  }

  /** The first error other than RESOURCE_EXHAUSTED, or null. */
  String firstError() {
    return firstError;
  }

  /** Runs the load on {@code db}, which holds {@code devices} devices of {@link QueryLatency}. */
  void run(TestDatabase db, int devices) throws Exception {
    loadAlerts(db, devices);
    BenchRows rows = new BenchRows(1000);
    try (BenchCluster cluster = new BenchCluster();
        HeapWatcher heap = new HeapWatcher()) {
      JobRuns jobs = new JobRuns(cluster, rows);
      String topic = jobs.preload(0);
      StreamExecutionEnvironment env = cluster.environment(2);
      CollectorJob.build(env, jobs.config(db, topic));
      JobClient job = env.executeAsync("bench query load");
      AtomicReference<Exception> producerFailure = new AtomicReference<>();
      Thread producer = new Thread(() -> produce(rows, topic, producerFailure), "bench-telemetry");
      producer.setDaemon(true);
      producer.start();
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
        awaitIngesting(db, rows, job);
        heap.sample();
        idleHeapMb = heap.peakMb();
        Calls calls = new Calls();
        List<Thread> threads = new ArrayList<>();
        List<ManagedChannel> channels = new ArrayList<>();
        Instant now = Instant.now().truncatedTo(ChronoUnit.MINUTES);
        for (int c = 0; c < clients; c++) {
          ManagedChannel channel =
              NettyChannelBuilder.forAddress("127.0.0.1", service.port()).usePlaintext().build();
          channels.add(channel);
          Thread thread = new Thread(() -> client(channel, devices, now, calls), "bench-client");
          thread.setDaemon(true);
          threads.add(thread);
          thread.start();
        }
        try {
          Thread.sleep(warmUp.toMillis());
          for (int w = 0; w < windows; w++) {
            long ingestedBefore = ingested(db, rows);
            long start = System.nanoTime();
            calls.open(start);
            Thread.sleep(window.toMillis());
            long end = System.nanoTime();
            List<double[]> samples = calls.close();
            double seconds = (end - start) / 1e9;
            long ingestedAfter = ingested(db, rows);
            heap.sample(); // outside the window: the collection pauses no measured call
            results.add(summarise(samples, seconds, calls, ingestedAfter - ingestedBefore, heap));
            Thread.sleep(2_000); // calls hit by the collection fall between windows
          }
        } finally {
          calls.stop();
          for (Thread thread : threads) {
            thread.join(60_000);
          }
          for (ManagedChannel channel : channels) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
          }
        }
      } finally {
        producer.interrupt();
        producer.join(10_000);
        job.cancel().get(1, TimeUnit.MINUTES);
      }
      if (producerFailure.get() != null) {
        throw new IllegalStateException("Producing telemetry failed", producerFailure.get());
      }
    }
  }

  private Window summarise(
      List<double[]> samples, double seconds, Calls calls, long ingestedRows, HeapWatcher heap) {
    double[] p50 = new double[RPCS.length];
    double[] p99 = new double[RPCS.length];
    for (int rpc = 0; rpc < RPCS.length; rpc++) {
      int kind = rpc;
      double[] latencies =
          samples.stream().filter(s -> s[0] == kind).mapToDouble(s -> s[1]).toArray();
      if (latencies.length == 0) {
        throw new IllegalStateException("No " + RPCS[rpc] + " call completed in a window");
      }
      p50[rpc] = Figure.percentile(latencies, 50);
      p99[rpc] = Figure.percentile(latencies, 99);
    }
    if (firstError == null) {
      firstError = calls.firstError.get();
    }
    return new Window(
        samples.size() / seconds,
        p50,
        p99,
        calls.exhaustedInWindow.getAndSet(0),
        calls.errorsInWindow.getAndSet(0),
        ingestedRows / seconds,
        heap.peakMb());
  }

  /** What the clients record: samples of the open window, and failures. */
  private static final class Calls {
    volatile boolean running = true;
    volatile long windowStart = Long.MAX_VALUE;
    volatile List<double[]> samples = new ArrayList<>();
    final AtomicLong exhaustedInWindow = new AtomicLong();
    final AtomicLong errorsInWindow = new AtomicLong();
    final AtomicReference<String> firstError = new AtomicReference<>();

    synchronized void open(long start) {
      samples = new ArrayList<>();
      exhaustedInWindow.set(0);
      errorsInWindow.set(0);
      windowStart = start;
    }

    synchronized List<double[]> close() {
      windowStart = Long.MAX_VALUE;
      return samples;
    }

    synchronized void record(long started, int rpc, double millis) {
      if (started >= windowStart) {
        samples.add(new double[] {rpc, millis});
      }
    }

    void fail(long started, StatusRuntimeException e) {
      boolean inWindow = started >= windowStart;
      if (e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED) {
        if (inWindow) {
          exhaustedInWindow.incrementAndGet();
        }
      } else {
        if (inWindow) {
          errorsInWindow.incrementAndGet();
        }
        firstError.compareAndSet(null, e.getStatus().toString());
      }
    }

    void stop() {
      running = false;
    }
  }

  private static void client(ManagedChannel channel, int devices, Instant now, Calls calls) {
    var client = CollectorServiceGrpc.newBlockingStub(channel);
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (long i = random.nextInt(10); calls.running; i++) {
      int slot = (int) (i % 10);
      int rpc = slot < 4 ? 0 : slot < 6 ? 1 : slot < 8 ? 2 : 3;
      String device = QueryLatency.device(random.nextInt(devices)).toString();
      var stub = client.withDeadlineAfter(30, TimeUnit.SECONDS);
      long started = System.nanoTime();
      try {
        switch (rpc) {
          case 0 ->
              stub.getLatestReadings(
                  GetLatestReadingsRequest.newBuilder().setDeviceId(device).build());
          case 1 ->
              stub.getReadings(
                  GetReadingsRequest.newBuilder()
                      .setDeviceId(device)
                      .setFrom(ts(now.minus(2, ChronoUnit.HOURS)))
                      .setTo(ts(now))
                      .build());
          case 2 ->
              stub.getReadings(
                  GetReadingsRequest.newBuilder()
                      .setDeviceId(device)
                      .setFrom(ts(now.minus(24, ChronoUnit.HOURS)))
                      .setTo(ts(now))
                      .setIntervalSeconds(3600)
                      .build());
          default ->
              stub.getAlerts(
                  GetAlertsRequest.newBuilder()
                      .setPlaceId(place(random.nextInt(PLACES)).toString())
                      .setPerPage(50)
                      .build());
        }
        calls.record(started, rpc, (System.nanoTime() - started) / 1e6);
      } catch (StatusRuntimeException e) {
        calls.fail(started, e);
      }
    }
  }

  /**
   * {@value #ALERTS} alerts over {@value #PLACES} places and the loaded devices, a third active.
   */
  private static void loadAlerts(TestDatabase db, int devices) throws Exception {
    db.execute(
        "INSERT INTO alerts (id, sensor_id, threshold_id, device_id, place_id, key, value,"
            + " threshold_value, threshold_type, severity, status, created_at, resolved_at)"
            + " SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),"
            + " ('00000000-0000-4000-8000-' || lpad((i % "
            + devices
            + ")::text, 12, '0'))::uuid,"
            + " ('00000000-0000-4000-9000-' || lpad((i % "
            + PLACES
            + ")::text, 12, '0'))::uuid,"
            + " 'key' || (1 + i % 5), 31, 30, 'max',"
            + " CASE WHEN i % 2 = 0 THEN 'warning' ELSE 'critical' END,"
            + " CASE WHEN i % 3 = 0 THEN 'active' ELSE 'resolved' END,"
            + " now() - i * interval '2 minutes',"
            + " CASE WHEN i % 3 = 0 THEN NULL ELSE now() - i * interval '2 minutes'"
            + " + interval '1 minute' END"
            + " FROM generate_series(1, "
            + ALERTS
            + ") AS i");
    db.execute("ANALYZE alerts");
  }

  static UUID place(int p) {
    return UUID.fromString(String.format("00000000-0000-4000-9000-%012d", p));
  }

  /** Until the job has committed some of the telemetry: the load runs while it ingests. */
  private static void awaitIngesting(TestDatabase db, BenchRows rows, JobClient job)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (ingested(db, rows) == 0) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "The job committed no readings in 3 minutes; it is " + job.getJobStatus().get());
      }
      Thread.sleep(250);
    }
  }

  /** Readings of the bench devices stored so far (the loaded table has other devices). */
  private static long ingested(TestDatabase db, BenchRows rows) throws Exception {
    StringBuilder ids = new StringBuilder();
    for (UUID device : rows.deviceIds()) {
      ids.append(ids.length() == 0 ? "'{" : ",").append(device);
    }
    return db.queryLong(
        "SELECT count(*) FROM readings WHERE device_id = ANY (" + ids + "}'::uuid[])");
  }

  /** A steady {@value #RECORDS_PER_SECOND} records per second until interrupted. */
  private static void produce(BenchRows rows, String topic, AtomicReference<Exception> failure) {
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                TestServices.kafka().bootstrapServers(),
                ProducerConfig.LINGER_MS_CONFIG,
                "5"),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      long start = System.nanoTime();
      long sent = 0;
      while (!Thread.currentThread().isInterrupted()) {
        long due = (System.nanoTime() - start) / 1_000_000 * RECORDS_PER_SECOND / 1000;
        for (; sent < due; sent++) {
          producer.send(
              new ProducerRecord<>(
                  topic,
                  rows.recordKey(sent).getBytes(StandardCharsets.UTF_8),
                  rows.record(sent).getBytes(StandardCharsets.UTF_8)),
              (metadata, error) -> {
                if (error != null) {
                  failure.compareAndSet(null, error);
                }
              });
        }
        Thread.sleep(5);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      failure.compareAndSet(null, e);
    }
  }

  private static Timestamp ts(Instant instant) {
    return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).build();
  }
}
