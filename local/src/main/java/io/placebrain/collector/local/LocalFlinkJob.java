package io.placebrain.collector.local;

import io.placebrain.collector.job.CollectorJob;
import io.placebrain.collector.job.CollectorJobConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The collector job on a Flink MiniCluster in this JVM, with the web UI. Checkpoints and savepoints
 * live in the data directory; a start resumes from the newest of them, and a stop takes a savepoint
 * first, so the next start continues exactly where this one ended.
 */
final class LocalFlinkJob implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LocalFlinkJob.class);

  private final JobClient client;
  private final Path savepoints;
  private final String resumedFrom;

  private LocalFlinkJob(JobClient client, Path savepoints, String resumedFrom) {
    this.client = client;
    this.savepoints = savepoints;
    this.resumedFrom = resumedFrom;
  }

  static LocalFlinkJob start(
      Path directory, String bindAddress, int webUiPort, CollectorJobConfig config)
      throws Exception {
    Path checkpoints = directory.resolve("flink").resolve("checkpoints");
    Path savepoints = directory.resolve("flink").resolve("savepoints");
    Files.createDirectories(checkpoints);
    Files.createDirectories(savepoints);

    Configuration conf = new Configuration();
    conf.set(RestOptions.PORT, webUiPort);
    conf.set(RestOptions.BIND_ADDRESS, bindAddress);
    conf.set(CoreOptions.DEFAULT_PARALLELISM, 2);
    conf.set(TaskManagerOptions.NUM_TASK_SLOTS, 2);
    conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
    // As flink-conf/config.yaml: alerts leave within milliseconds, not after a 100 ms buffer.
    conf.set(ExecutionOptions.BUFFER_TIMEOUT, Duration.ofMillis(10));
    conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.toUri().toString());
    conf.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, savepoints.toUri().toString());
    conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 2);
    conf.set(
        CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
        ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    Optional<Path> latest = newestSnapshot(checkpoints, savepoints);
    latest.ifPresent(
        path -> conf.set(StateRecoveryOptions.SAVEPOINT_PATH, path.toUri().toString()));

    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf);
    CollectorJob.build(env, config);
    JobClient client = env.executeAsync("collector");
    String resumedFrom = latest.map(Path::toString).orElse(null);
    LOG.info(
        "Job {} submitted{}",
        client.getJobID(),
        resumedFrom == null ? "" : ", resuming from " + resumedFrom);
    return new LocalFlinkJob(client, savepoints, resumedFrom);
  }

  /** The newest savepoint or retained checkpoint (a directory holding {@code _metadata}). */
  static Optional<Path> newestSnapshot(Path... roots) throws IOException {
    Optional<Path> newest = Optional.empty();
    for (Path root : roots) {
      try (Stream<Path> files = Files.walk(root, 3)) {
        Optional<Path> candidate =
            files
                .filter(path -> path.getFileName().toString().equals("_metadata"))
                .max(Comparator.comparingLong(LocalFlinkJob::modified));
        if (candidate.isPresent()
            && (newest.isEmpty() || modified(candidate.get()) > modified(newest.get()))) {
          newest = candidate;
        }
      }
    }
    return newest.map(Path::getParent);
  }

  private static long modified(Path path) {
    try {
      return Files.getLastModifiedTime(path).toMillis();
    } catch (IOException e) {
      return 0;
    }
  }

  String resumedFrom() {
    return resumedFrom;
  }

  JobStatus status() throws Exception {
    return client.getJobStatus().get(10, TimeUnit.SECONDS);
  }

  /** Waits until the job runs, or fails with its status. */
  void awaitRunning(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      JobStatus status = status();
      if (status == JobStatus.RUNNING) {
        return;
      }
      if (status.isTerminalState() || System.nanoTime() > deadline) {
        throw new IllegalStateException("The job did not start: " + status);
      }
      Thread.sleep(200);
    }
  }

  /** Stops with a savepoint (all committed, nothing in flight), or cancels if that fails. */
  @Override
  public void close() {
    try {
      if (!status().isGloballyTerminalState()) {
        String savepoint =
            client
                .stopWithSavepoint(
                    false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
                .get(2, TimeUnit.MINUTES);
        LOG.info("Job stopped with savepoint {}", savepoint);
      }
    } catch (Exception e) {
      LOG.warn(
          "Stop with savepoint failed ({}); cancelling; the next start resumes from the last checkpoint",
          e.toString());
      try {
        client.cancel().get(1, TimeUnit.MINUTES);
      } catch (Exception cancelFailed) {
        LOG.warn("Cancelling the job failed", cancelFailed);
      }
    }
    try {
      client.getJobExecutionResult().get(1, TimeUnit.MINUTES);
    } catch (Exception e) {
      // Stopped or cancelled: the result is an exception for a cancelled job; nothing to do.
    }
  }
}
