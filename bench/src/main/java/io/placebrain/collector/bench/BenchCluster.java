package io.placebrain.collector.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.util.TestStreamEnvironment;

/**
 * A Flink MiniCluster in this JVM configured like {@code flink-conf/}: RocksDB with incremental
 * checkpoints to local files; its REST API gives the checkpoint statistics.
 */
final class BenchCluster implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http = HttpClient.newHttpClient();
  private final MiniCluster cluster;
  private final URI rest;

  BenchCluster() throws Exception {
    Configuration conf = new Configuration();
    conf.set(RestOptions.PORT, 0);
    conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
    conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
    conf.set(
        CheckpointingOptions.CHECKPOINTS_DIRECTORY,
        Files.createTempDirectory("bench-checkpoints").toUri().toString());
    conf.set(TaskManagerOptions.NUM_TASK_SLOTS, 4);
    // The REST API's metrics are at most this old: the job runs read the sink's progress there.
    conf.set(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL, Duration.ofMillis(200));
    cluster =
        new MiniCluster(
            new MiniClusterConfiguration.Builder()
                .setConfiguration(conf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(4)
                .build());
    cluster.start();
    rest = cluster.getRestAddress().get();
  }

  /** An environment whose jobs run on this cluster. */
  StreamExecutionEnvironment environment(int parallelism) {
    TestStreamEnvironment.setAsContext(cluster, parallelism);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setBufferTimeout(10); // as flink-conf/config.yaml sets execution.buffer-timeout.interval
    return env;
  }

  /** {@code /jobs/:id/checkpoints} of the REST API. */
  JsonNode checkpoints(JobID job) throws Exception {
    return get("/jobs/" + job + "/checkpoints");
  }

  /**
   * The REST query of the readings sink's {@code numRecordsSend} summed over its subtasks (rows
   * sent into its transactions), or null while the job's vertices or metrics are not there yet.
   */
  String readingsSinkRowsSentQuery(JobID job) throws Exception {
    for (JsonNode vertex : get("/jobs/" + job).path("vertices")) {
      String base =
          "/jobs/" + job + "/vertices/" + vertex.path("id").asText() + "/subtasks/metrics";
      for (JsonNode metric : get(base)) {
        String id = metric.path("id").asText();
        if (id.contains("Readings") && id.endsWith(".numRecordsSend")) {
          return base + "?get=" + id + "&agg=sum";
        }
      }
    }
    return null;
  }

  /**
   * Waits until every task of the job runs (deployment done), polling the REST API: what a warm-up
   * measured from here covers is the job's work, not how long deployment took.
   */
  void awaitTasksRunning(JobID job) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (true) {
      JsonNode details = get("/jobs/" + job);
      String state = details.path("state").asText();
      if (Set.of("FAILED", "CANCELED", "CANCELLING", "FINISHED").contains(state)) {
        throw new IllegalStateException("Job " + job + " is " + state + " before it ran");
      }
      JsonNode vertices = details.path("vertices");
      // A vertex's status says RUNNING once one task runs; count its running tasks instead.
      boolean running = vertices.size() > 0;
      for (JsonNode vertex : vertices) {
        running &=
            vertex.path("tasks").path("RUNNING").asInt() == vertex.path("parallelism").asInt();
      }
      if (running) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("Job " + job + " not running after a minute: " + vertices);
      }
      Thread.sleep(50);
    }
  }

  /**
   * The value of a {@link #readingsSinkRowsSentQuery}: costs the database nothing, unlike counting
   * the table while the job writes to it. Metrics here are at most 200 ms old.
   */
  long rowsSent(String query) throws Exception {
    JsonNode value = get(query);
    return value.isArray() && value.size() > 0 ? value.get(0).path("sum").asLong() : 0;
  }

  private JsonNode get(String path) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(rest.resolve(path)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(response.body());
  }

  @Override
  public void close() throws Exception {
    TestStreamEnvironment.unsetAsContext();
    cluster.closeAsync().get();
  }
}
