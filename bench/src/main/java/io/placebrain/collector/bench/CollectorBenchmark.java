package io.placebrain.collector.bench;

import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.postgres.ExternalPostgres;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * The benchmark command ({@code bench/run}): every figure measured in one run on the same machine
 * against the same real services, warm-up first, each figure the median of three runs with min and
 * max. Prints a table and writes {@code target/bench/results.json}.
 */
public final class CollectorBenchmark {

  private static final int RUNS = 3;

  /**
   * The parts {@code --only} can pick; the COPY ceiling, the anchor of every ratio, runs with any
   * ingest part. The alert latency under load needs the job's figure, so it runs only with "job".
   */
  private static final Set<String> ALL_PARTS =
      Set.of("sinks", "job", "delete", "alerts", "queries");

  /** Concurrent clients of the query load, each on its own connection. */
  private static final int LOAD_CLIENTS = 32;

  /** How much work each figure does. */
  private record Size(
      String name,
      long sinkRows,
      long jobRecords,
      Duration alertWarmUp,
      Duration alertWindow,
      int queryDevices,
      int latestCalls,
      int aggregateCalls,
      Duration loadWarmUp,
      Duration loadWindow,
      int fleetDevices,
      boolean warmUpJdbcSinks) {}

  private static final Size FULL =
      new Size(
          "full",
          1_000_000,
          666_667,
          Duration.ofSeconds(10),
          Duration.ofSeconds(10),
          250,
          200,
          30,
          Duration.ofSeconds(20),
          Duration.ofSeconds(30),
          50_000,
          true);
  private static final Size QUICK =
      new Size(
          "quick",
          150_000,
          80_000,
          Duration.ofSeconds(3),
          Duration.ofSeconds(2),
          10,
          60,
          6,
          Duration.ofSeconds(4),
          Duration.ofSeconds(3),
          5_000,
          // The COPY sinks' runs before them have warmed Flink and the database up.
          false);

  private CollectorBenchmark() {}

  public static void main(String[] args) throws Exception {
    Size size = FULL;
    boolean queriesOnly = false;
    Set<String> parts = ALL_PARTS;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--quick":
          size = QUICK;
          break;
        case "--queries-only":
          queriesOnly = true;
          break;
        case "--database-url":
          System.setProperty(ExternalPostgres.DATABASE_URL_PROPERTY, args[++i]);
          break;
        case "--only":
          parts = Set.of(args[++i].split(","));
          if (!ALL_PARTS.containsAll(parts)) {
            System.err.println("--only takes a comma-separated list of " + ALL_PARTS);
            System.exit(2);
          }
          break;
        default:
          System.err.println(
              "Usage: bench/run [--quick] [--queries-only] [--only sinks,job,delete,alerts,queries]"
                  + " [--database-url jdbc:postgresql://host:port/db?user=…]");
          System.exit(2);
      }
    }
    if (queriesOnly) {
      parts = Set.of("queries");
    }
    int status = 0;
    try {
      run(size, parts);
    } catch (Exception e) {
      e.printStackTrace();
      status = 1;
    } finally {
      BenchDatabases.dropTemplate();
      TestServices.stopAll();
    }
    System.exit(status);
  }

  private static void run(Size size, Set<String> parts) throws Exception {
    long began = System.nanoTime();
    String database = databaseDescription();
    String header =
        String.format(
            Locale.ROOT,
            "Collector benchmark (%s) %s · %d cores · Java %s · heap max %d MB · %s",
            size.name(),
            LocalDate.now(),
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version"),
            Runtime.getRuntime().maxMemory() / (1024 * 1024),
            database);
    System.out.println(header);
    Results results = new Results();
    if (parts.stream().anyMatch(part -> !part.equals("queries"))) {
      measureIngest(size, parts, results);
    }
    if (parts.contains("queries")) {
      measureQueries(size, results);
    }
    results.print(System.out, header);
    Path json = Path.of("target", "bench", "results.json");
    results.write(json);
    System.out.printf(
        Locale.ROOT,
        "%nWritten to %s; took %d s.%n",
        json.toAbsolutePath(),
        (System.nanoTime() - began) / 1_000_000_000);
  }

  /** Throughput of the sinks and the whole job, alert latency, heap and checkpoints. */
  private static void measureIngest(Size size, Set<String> parts, Results results)
      throws Exception {
    BenchRows rows = new BenchRows(1000);
    Throughput throughput = new Throughput(rows, size.sinkRows());

    try (BenchCluster cluster = new BenchCluster()) {
      if (parts.contains("sinks")) {
        measureCeilingBesideSinks(cluster, throughput, size, results);
      } else {
        progress("COPY ceiling, " + size.sinkRows() + " rows");
        throughput.copyCeiling(); // warm-up
        double[] ceiling = new double[RUNS];
        for (int i = 0; i < RUNS; i++) {
          ceiling[i] = throughput.copyCeiling();
        }
        results.add(
            Figure.of(
                "copy_ceiling_rows_per_s", "raw COPY, CopyManager, no Flink", "rows/s", ceiling));
        addCeilingServerCpu(throughput, results);
      }
      progress("COPY without the index (profile)");
      results.add(
          runs(
              "copy_without_index_rows_per_s",
              "profile: raw COPY, readings without its index",
              "rows/s",
              throughput::copyWithoutIndex));
      if (parts.contains("sinks")) {
        measureJdbcSinks(cluster, throughput, size, results);
      }
      JobRuns jobs = new JobRuns(cluster, rows);
      if (parts.contains("job")) {
        measureJob(size, jobs, results);
      }
      if (parts.contains("delete")) {
        measureBulkDeletion(size, cluster, results);
      }
      if (parts.contains("alerts")) {
        measureAlertLatency(size, cluster, jobs, results);
      }
    }
  }

  /**
   * The ceiling and the COPY sink in alternation: each round runs the ceiling and both sinks, in an
   * order that rotates from round to round (each takes each place once), so a slow phase of the
   * machine or of the database falls on each alike; each sink run is also divided by its round's
   * ceiling run. Which run precedes which is not balanced: the ceiling always follows the
   * at-least-once sink.
   */
  private static void measureCeilingBesideSinks(
      BenchCluster cluster, Throughput throughput, Size size, Results results) throws Exception {
    progress("COPY ceiling and COPY sink, alternating, " + size.sinkRows() + " rows each");
    throughput.copyCeiling(); // warm-ups; the sinks' first runs also time their fixed costs
    throughput.copySink(cluster, DeliveryGuarantee.EXACTLY_ONCE);
    throughput.copySink(cluster, DeliveryGuarantee.AT_LEAST_ONCE);
    double[][] rates = new double[3][RUNS]; // ceiling, exactly-once, at-least-once
    for (int i = 0; i < RUNS; i++) {
      progress("COPY ceiling, COPY sink exactly-once and at-least-once, round " + (i + 1));
      for (int k = 0; k < 3; k++) {
        int which = (i + k) % 3;
        rates[which][i] =
            switch (which) {
              case 0 -> throughput.copyCeiling();
              case 1 -> throughput.copySink(cluster, DeliveryGuarantee.EXACTLY_ONCE);
              default -> throughput.copySink(cluster, DeliveryGuarantee.AT_LEAST_ONCE);
            };
      }
    }
    results.add(
        Figure.of(
            "copy_ceiling_rows_per_s", "raw COPY, CopyManager, no Flink", "rows/s", rates[0]));
    addCeilingServerCpu(throughput, results);
    results.add(
        Figure.of("sink_rows_per_s", "COPY sink in Flink, exactly-once (p=1)", "rows/s", rates[1]));
    results.add(
        Figure.of(
            "sink_over_ceiling",
            "  each run ÷ the ceiling run of its round",
            "×",
            perRound(rates[1], rates[0])));
    results.add(
        Figure.of(
            "sink_at_least_once_rows_per_s",
            "COPY sink in Flink, at-least-once (p=1)",
            "rows/s",
            rates[2]));
    results.add(
        Figure.of(
            "sink_at_least_once_over_ceiling",
            "  each run ÷ the ceiling run of its round",
            "×",
            perRound(rates[2], rates[0])));
  }

  private static double[] perRound(double[] rates, double[] ceiling) {
    double[] ratios = new double[rates.length];
    for (int i = 0; i < rates.length; i++) {
      ratios[i] = rates[i] / ceiling[i];
    }
    return ratios;
  }

  private static void addCeilingServerCpu(Throughput throughput, Results results) {
    results.add(
        Figure.of(
            "copy_ceiling_db_cpu_ms_per_million_rows",
            "  the database server's CPU per million rows of it",
            "ms",
            throughput.ceilingServerCpuMs.stream()
                .skip(1) // the warm-up
                .mapToDouble(Double::doubleValue)
                .toArray()));
  }

  private static void measureJdbcSinks(
      BenchCluster cluster, Throughput throughput, Size size, Results results) throws Exception {
    progress("JdbcSink");
    results.add(
        runs(
            size.warmUpJdbcSinks(),
            "jdbc_sink_rows_per_s",
            "JdbcSink, batched INSERT, at-least-once",
            "rows/s",
            () -> throughput.jdbcSink(cluster, false)));
    progress("JdbcSink with reWriteBatchedInserts");
    results.add(
        runs(
            size.warmUpJdbcSinks(),
            "jdbc_sink_rewritten_rows_per_s",
            "JdbcSink, reWriteBatchedInserts=true",
            "rows/s",
            () -> throughput.jdbcSink(cluster, true)));

    progress("JdbcSink exactly-once (XA)");
    Figure xa =
        runs(
            size.warmUpJdbcSinks(),
            "jdbc_xa_sink_rows_per_s",
            "JdbcSink exactly-once, XA, transaction per connection",
            "rows/s",
            () -> throughput.jdbcXaSink(cluster));
    results.add(xa);
    Figure sink = results.get("sink_rows_per_s");
    results.add(
        new Figure(
            "sink_over_jdbc_xa_sink",
            "COPY sink exactly-once ÷ JdbcSink exactly-once (XA)",
            "×",
            sink.median() / xa.median(),
            sink.min() / xa.max(),
            sink.max() / xa.min(),
            RUNS));
  }

  /**
   * The whole job on 1× and 2× the input. Each run's time includes the job's fixed costs
   * (deployment, the wait for the checkpoint after the last reading, its commit); the sustained
   * rate, measured at full speed ({@link SteadyRate}), leaves them out, as a job running for days
   * sees it.
   */
  private static void measureJob(Size size, JobRuns jobs, Results results) throws Exception {
    progress(
        "whole job, "
            + size.jobRecords() * 3
            + " readings pre-loaded in Kafka, thresholds on 1 in "
            + JobRuns.SENSORS_PER_THRESHOLD
            + " sensors");
    String once = jobs.preload(size.jobRecords());
    String twice = jobs.preload(size.jobRecords() * 2);
    jobs.run(once, size.jobRecords()); // warm-up
    JobRuns.Run[] normal = new JobRuns.Run[RUNS];
    JobRuns.Run[] doubled = new JobRuns.Run[RUNS];
    for (int i = 0; i < RUNS; i++) {
      // Alternating, so a slow phase of the machine falls on both sizes alike.
      progress("whole job, 1× and 2× the input, run " + (i + 1));
      normal[i] = jobs.run(once, size.jobRecords());
      doubled[i] = jobs.run(twice, size.jobRecords() * 2);
    }
    results.add(
        Figure.of(
            "job_rows_per_s",
            "whole job, Kafka → committed rows (p=2)",
            "rows/s",
            Arrays.stream(normal).mapToDouble(JobRuns.Run::rowsPerSecond).toArray()));
    results.add(
        Figure.of(
            "job_rows_per_s_2x",
            "whole job, twice the input",
            "rows/s",
            Arrays.stream(doubled).mapToDouble(JobRuns.Run::rowsPerSecond).toArray()));
    results.add(
        Figure.of(
            "job_sustained_rows_per_s",
            "whole job at full speed (10–90 % of the input, no fixed costs)",
            "rows/s",
            Arrays.stream(normal).mapToDouble(JobRuns.Run::sustainedRowsPerSecond).toArray()));
    results.add(
        Figure.of(
            "job_sustained_rows_per_s_2x",
            "whole job at full speed, twice the input",
            "rows/s",
            Arrays.stream(doubled).mapToDouble(JobRuns.Run::sustainedRowsPerSecond).toArray()));
    results.add(
        Figure.of(
            "job_cpu_ms_per_million_readings",
            "whole job, task threads' CPU per million readings",
            "ms",
            Arrays.stream(normal).mapToDouble(JobRuns.Run::cpuMsPerMillionReadings).toArray()));
    results.add(
        Figure.of(
            "job_jvm_cpu_ms_per_million_readings",
            "  the whole JVM's CPU (Flink, Kafka broker, benchmark)",
            "ms",
            Arrays.stream(normal).mapToDouble(JobRuns.Run::jvmCpuMsPerMillionReadings).toArray()));
    results.add(
        Figure.of(
            "job_db_cpu_ms_per_million_readings",
            "  the database server's CPU (all its processes)",
            "ms",
            Arrays.stream(normal)
                .mapToDouble(JobRuns.Run::serverCpuMsPerMillionReadings)
                .toArray()));
    results.add(
        Figure.of(
            "peak_heap_mb",
            "live heap, peak (full GC every 3 s), whole JVM, 1× input",
            "MB",
            Arrays.stream(normal).mapToDouble(JobRuns.Run::peakHeapMb).toArray()));
    results.add(
        Figure.of(
            "peak_heap_mb_2x",
            "live heap, peak, whole JVM, 2× input",
            "MB",
            Arrays.stream(doubled).mapToDouble(JobRuns.Run::peakHeapMb).toArray()));
    results.add(
        Figure.of(
            "checkpoint_ms_p99",
            "checkpoint duration p99 at full speed",
            "ms",
            Arrays.stream(normal).mapToDouble(JobRuns.Run::checkpointP99Ms).toArray()));
    results.add(
        Figure.of(
            "checkpoint_bytes",
            "checkpoint size, largest at full speed",
            "bytes",
            Arrays.stream(normal).mapToDouble(JobRuns.Run::checkpointBytes).toArray()));
  }

  private static void measureBulkDeletion(Size size, BenchCluster cluster, Results results)
      throws Exception {
    int devices = size.fleetDevices();
    progress(
        String.format(
            Locale.ROOT, "bulk deletion of 1,000 of %,d devices with evaluation state", devices));
    JobRuns fleet = new JobRuns(cluster, new BenchRows(devices));
    // Every run reads the topic from its start, into a database of its own.
    String topic = fleet.preload(devices);
    double[] deletions = new double[RUNS];
    for (int i = 0; i < RUNS; i++) {
      deletions[i] = fleet.bulkDeletion(topic, 1_000);
    }
    results.add(
        Figure.of(
            "bulk_delete_ms",
            String.format(
                Locale.ROOT, "bulk deletion, 1,000 of %,d devices, published → rows gone", devices),
            "ms",
            deletions));
  }

  /**
   * Alert latency at light load, then at half the job's measured maximum (the job's figure of this
   * run, so only with the "job" part).
   */
  private static void measureAlertLatency(
      Size size, BenchCluster cluster, JobRuns jobs, Results results) throws Exception {
    progress("alert latency at 2,000 readings/s");
    double[][] windows =
        new AlertLatency(cluster, jobs).measure(size.alertWarmUp(), size.alertWindow(), RUNS, 0);
    results.add(
        Figure.of(
            "alert_latency_p50_ms",
            "alert latency p50, Kafka timestamp → MQTT",
            "ms",
            Arrays.stream(windows).mapToDouble(w -> w[0]).toArray()));
    results.add(
        Figure.of(
            "alert_latency_p99_ms",
            "alert latency p99",
            "ms",
            Arrays.stream(windows).mapToDouble(w -> w[1]).toArray()));
    results.add(
        Figure.of(
            "alert_events_per_window",
            "alert events received per window",
            "events",
            Arrays.stream(windows).mapToDouble(w -> w[2]).toArray()));
    Figure job = results.find("job_rows_per_s");
    if (job == null) {
      return;
    }
    // Half the job's measured maximum in this run: 2,000 alerting readings/s plus background.
    double loadReadingsPerSecond = job.median() / 2;
    progress(
        String.format(Locale.ROOT, "alert latency at %,.0f readings/s", loadReadingsPerSecond));
    double[][] loaded =
        new AlertLatency(cluster, jobs)
            .measure(
                size.alertWarmUp(),
                size.alertWindow(),
                RUNS,
                Math.max(0, (long) loadReadingsPerSecond - 2000));
    results.add(
        Figure.of(
            "alert_latency_p99_ms_under_load",
            "alert latency p99 at half the job's measured maximum",
            "ms",
            Arrays.stream(loaded).mapToDouble(w -> w[1]).toArray()));
    results.add(
        Figure.of(
            "alert_load_readings_per_s",
            "  the load: readings/s sent during those windows",
            "readings/s",
            Math.max(2000, loadReadingsPerSecond)));
  }

  /** Query latency, then the query load while the job ingests. */
  private static void measureQueries(Size size, Results results) throws Exception {
    QueryLatency queries = new QueryLatency(size.queryDevices());
    progress(
        "query latency on "
            + queries.rows()
            + " rows, then "
            + LOAD_CLIENTS
            + " clients while the job ingests");
    QueryLoad load = new QueryLoad(LOAD_CLIENTS, size.loadWarmUp(), size.loadWindow(), RUNS);
    double[][] query = queries.measure(RUNS, size.latestCalls(), size.aggregateCalls(), load);
    results.add(
        Figure.of("query_latest_p99_ms", "GetLatestReadings p99 over gRPC", "ms", query[0]));
    results.add(
        Figure.of(
            "query_aggregate_p99_ms", "GetReadings 30 days hourly p99 over gRPC", "ms", query[1]));
    results.add(
        Figure.of("query_table_rows", "rows in readings for the queries", "rows", queries.rows()));
    addLoadFigures(results, load);
  }

  private static void addLoadFigures(Results results, QueryLoad load) {
    List<QueryLoad.Window> windows = load.results();
    results.add(
        Figure.of(
            "query_load_calls_per_s",
            LOAD_CLIENTS + " clients, mixed calls completed, while the job ingests",
            "calls/s",
            windows.stream().mapToDouble(QueryLoad.Window::callsPerSecond).toArray()));
    String[] labels = {
      "GetLatestReadings", "GetReadings 2 h raw", "GetReadings 24 h hourly", "GetAlerts 50 per page"
    };
    for (int rpc = 0; rpc < QueryLoad.RPCS.length; rpc++) {
      int kind = rpc;
      results.add(
          Figure.of(
              "query_load_" + QueryLoad.RPCS[rpc] + "_p50_ms",
              "under load: " + labels[rpc] + " p50",
              "ms",
              windows.stream().mapToDouble(w -> w.p50()[kind]).toArray()));
      results.add(
          Figure.of(
              "query_load_" + QueryLoad.RPCS[rpc] + "_p99_ms",
              "under load: " + labels[rpc] + " p99",
              "ms",
              windows.stream().mapToDouble(w -> w.p99()[kind]).toArray()));
    }
    results.add(
        Figure.of(
            "query_load_resource_exhausted",
            "under load: RESOURCE_EXHAUSTED answers per window",
            "calls",
            windows.stream().mapToDouble(QueryLoad.Window::resourceExhausted).toArray()));
    results.add(
        Figure.of(
            "query_load_errors",
            "under load: any other error per window",
            "calls",
            windows.stream().mapToDouble(QueryLoad.Window::errors).toArray()));
    results.add(
        Figure.of(
            "query_load_ingest_rows_per_s",
            "under load: readings committed by the job (3,000/s offered)",
            "rows/s",
            windows.stream().mapToDouble(QueryLoad.Window::ingestRowsPerSecond).toArray()));
    results.add(
        Figure.of(
            "query_load_idle_heap_mb",
            "live heap, whole JVM, job ingesting, service idle",
            "MB",
            load.idleHeapMb()));
    results.add(
        Figure.of(
            "query_load_peak_heap_mb",
            "live heap, peak, whole JVM, under query load",
            "MB",
            windows.stream().mapToDouble(QueryLoad.Window::liveHeapMb).toArray()));
    if (load.firstError() != null) {
      System.out.println("Query load: first unexpected error: " + load.firstError());
    }
  }

  /** What the database is, for the header. */
  private static String databaseDescription() throws Exception {
    TestDatabase db = TestServices.postgres().createDatabase();
    try {
      try (var connection = db.connect();
          var statement = connection.createStatement();
          var row =
              statement.executeQuery(
                  "SELECT current_setting('server_version'), (SELECT default_version FROM"
                      + " pg_available_extensions WHERE name = 'timescaledb')")) {
        row.next();
        String timescale = row.getString(2);
        return "PostgreSQL "
            + row.getString(1)
            + (timescale == null ? "" : " with TimescaleDB " + timescale + " available")
            + " ("
            + TestServices.postgres()
            + ")";
      }
    } finally {
      db.drop();
    }
  }

  /** One throughput figure: a warm-up, then {@link #RUNS} runs. */
  private interface Measurement {
    double run() throws Exception;
  }

  private static Figure runs(String key, String label, String unit, Measurement measurement)
      throws Exception {
    return runs(true, key, label, unit, measurement);
  }

  private static Figure runs(
      boolean warmUp, String key, String label, String unit, Measurement measurement)
      throws Exception {
    if (warmUp) {
      measurement.run();
    }
    double[] values = new double[RUNS];
    for (int i = 0; i < RUNS; i++) {
      values[i] = measurement.run();
    }
    return Figure.of(key, label, unit, values);
  }

  /** When the benchmark started: progress lines say how long each part took. */
  private static final long STARTED = System.nanoTime();

  private static void progress(String what) {
    System.out.printf(
        Locale.ROOT, "… %4d s  %s%n", (System.nanoTime() - STARTED) / 1_000_000_000, what);
  }
}
