package io.placebrain.collector.testing.flink;

import io.placebrain.collector.testing.TestServices;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.MiniClusterResource;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit extension running a test class's jobs on a Flink MiniCluster that starts once per test JVM
 * (two TaskManagers with two slots each) and is shared by every class. {@code
 * StreamExecutionEnvironment.getExecutionEnvironment()} returns an environment on that cluster with
 * parallelism {@value #DEFAULT_PARALLELISM}; after each test, jobs it left running are cancelled so
 * the next test has every slot.
 *
 * <pre>{@code @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();}
 * </pre>
 */
public final class SharedMiniCluster
    implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {

  public static final int TASK_MANAGERS = 2;
  public static final int SLOTS_PER_TASK_MANAGER = 2;
  public static final int DEFAULT_PARALLELISM = 2;

  private static MiniClusterResource cluster;

  private final int parallelism;

  public SharedMiniCluster() {
    this(DEFAULT_PARALLELISM);
  }

  public SharedMiniCluster(int parallelism) {
    if (parallelism < 1 || parallelism > TASK_MANAGERS * SLOTS_PER_TASK_MANAGER) {
      throw new IllegalArgumentException(
          "parallelism must be 1.." + TASK_MANAGERS * SLOTS_PER_TASK_MANAGER);
    }
    this.parallelism = parallelism;
  }

  private static synchronized MiniClusterResource cluster() throws Exception {
    if (cluster == null) {
      Configuration configuration = new Configuration();
      // A free REST port, so tests can run beside a local Flink and each other.
      configuration.set(RestOptions.BIND_PORT, "0");
      // Cancelling leftover jobs between tests requires heartbeats to time out before shutdown.
      configuration.set(HeartbeatManagerOptions.HEARTBEAT_INTERVAL, Duration.ofSeconds(1));
      configuration.set(HeartbeatManagerOptions.HEARTBEAT_TIMEOUT, Duration.ofSeconds(5));
      MiniClusterResource started =
          new MiniClusterResource(
              new MiniClusterResourceConfiguration.Builder()
                  .setNumberTaskManagers(TASK_MANAGERS)
                  .setNumberSlotsPerTaskManager(SLOTS_PER_TASK_MANAGER)
                  .setConfiguration(configuration)
                  .build());
      started.before();
      TestServices.stopAtSessionEnd(
          new AutoCloseable() {
            @Override
            public void close() {
              started.after();
            }

            @Override
            public String toString() {
              return "Flink MiniCluster";
            }
          });
      cluster = started;
    }
    return cluster;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    TestStreamEnvironment.setAsContext(cluster().getMiniCluster(), parallelism);
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    cluster().cancelAllJobsAndWaitUntilSlotsAreFreed();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    TestStreamEnvironment.unsetAsContext();
  }

  public MiniCluster miniCluster() throws Exception {
    return cluster().getMiniCluster();
  }

  /** The REST endpoint (and web UI, when flink-runtime-web is on the classpath). */
  public URI restAddress() throws Exception {
    return cluster().getRestAddress();
  }

  public int parallelism() {
    return parallelism;
  }

  /** Checkpoints of a running job completed so far. */
  public long completedCheckpoints(JobID job) throws Exception {
    return miniCluster()
        .getExecutionGraph(job)
        .get()
        .getCheckpointStatsSnapshot()
        .getCounts()
        .getNumberOfCompletedCheckpoints();
  }

  /**
   * Waits until {@code more} checkpoints completed after this call: evidence that everything the
   * job had read before the call went through a checkpoint (and its commits) since.
   */
  public void awaitMoreCheckpoints(JobID job, int more, java.time.Duration timeout)
      throws Exception {
    long target = completedCheckpoints(job) + more;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (completedCheckpoints(job) < target) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "only " + completedCheckpoints(job) + " of " + target + " checkpoints completed");
      }
      Thread.sleep(50);
    }
  }

  /** Why the job last failed (it restarted or failed since), or null if it never did. */
  public String failure(JobID job) throws Exception {
    var info = miniCluster().getExecutionGraph(job).get().getFailureInfo();
    return info == null ? null : info.getExceptionAsString();
  }

  /** The status of a job, or null if the cluster does not know it. */
  public JobStatus status(JobID job) throws Exception {
    Collection<JobStatusMessage> jobs = miniCluster().listJobs().get();
    return jobs.stream()
        .filter(status -> status.getJobId().equals(job))
        .map(JobStatusMessage::getJobState)
        .findFirst()
        .orElse(null);
  }
}
