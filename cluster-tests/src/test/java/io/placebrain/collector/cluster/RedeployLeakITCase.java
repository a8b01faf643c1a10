package io.placebrain.collector.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session cluster that sees many redeploys: the job submitted and cancelled again and again on
 * one TaskManager must leave no classes and no threads behind, in the TaskManager or in the
 * JobManager (which runs the job's main for a jar run through REST), or their metaspace fills up
 * and they die with {@code OutOfMemoryError: Metaspace}.
 */
class RedeployLeakITCase {

  private static final Logger LOG = LoggerFactory.getLogger(RedeployLeakITCase.class);
  private static final int REDEPLOYS = 10;
  private static final Duration STEP = Duration.ofMinutes(2);

  /** Well under one job's classes (about 20 MB of metaspace per job when they leak). */
  private static final long METASPACE_MARGIN_KB = 12 * 1024;

  /** Flink's own pools grow a little at first; each leaked deployment left 4 to 5 threads. */
  private static final int THREAD_MARGIN = 8;

  /**
   * Libraries may keep a job's classes for a short while after it ends (PostgreSQL's driver keeps
   * its cleaner thread for 30 s of idleness); leaked ones stay for good.
   */
  private static final Duration UNLOAD = Duration.ofSeconds(90);

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static FlinkSessionCluster cluster;
  private static CollectorDeployment deployment;

  @BeforeAll
  static void startCluster() throws Exception {
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    cluster = FlinkSessionCluster.start();
    deployment = new CollectorDeployment(cluster, DB.get());
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void submittingAndCancellingAgainAndAgainLeavesNoClassesOrThreadsBehind() throws Exception {
    String jar = cluster.rest().uploadJar(Paths.get(System.getProperty("collector.job.jar")));
    // A jar run through REST runs the job's main in the JobManager, with the jar's class loader:
    // the JobManager must let go of each job as the TaskManager must.
    Map<String, Long> processes =
        Map.of(
            "TaskManager", cluster.taskManager().pid(), "JobManager", cluster.jobManager().pid());

    // The first deployment loads Flink's own classes for these operators, which stay: the baseline.
    deployAndCancel(jar);
    Map<String, Usage> baseline = new TreeMap<>();
    for (Map.Entry<String, Long> process : processes.entrySet()) {
      awaitNoJobClassLoader(process.getKey(), process.getValue());
      baseline.put(process.getKey(), usage(process.getValue()));
    }
    LOG.info("After the first deployment: {}", baseline);
    for (int i = 2; i <= REDEPLOYS; i++) {
      deployAndCancel(jar);
      LOG.info("Deployment {} submitted, running and cancelled", i);
    }
    Map<String, Usage> end = new TreeMap<>();
    for (Map.Entry<String, Long> process : processes.entrySet()) {
      awaitNoJobClassLoader(process.getKey(), process.getValue());
      end.put(process.getKey(), usage(process.getValue()));
    }
    LOG.info("After {} deployments: {} (baseline {})", REDEPLOYS, end, baseline);
    LOG.info(
        "JobManager's metaspace as its REST metrics report it: {}",
        cluster.rest().get("/jobmanager/metrics?get=Status.JVM.Memory.Metaspace.Used"));
    assertThat(cluster.taskManager().isAlive()).as("TaskManager alive").isTrue();
    for (String process : processes.keySet()) {
      Usage before = baseline.get(process);
      Usage after = end.get(process);
      LOG.info(
          "{} threads at the start: {}; at the end: {}",
          process,
          before.threadNames(),
          after.threadNames());
      assertThat(after.metaspaceKb())
          .as("%s metaspace (KB) after %d deployments, baseline %s", process, REDEPLOYS, before)
          .isLessThanOrEqualTo(before.metaspaceKb() + METASPACE_MARGIN_KB);
      assertThat(after.threads())
          .as(
              "%s threads after %d deployments, baseline %s; now %s",
              process, REDEPLOYS, before, after.threadNames())
          .isLessThanOrEqualTo(before.threads() + THREAD_MARGIN);
    }
  }

  private static void deployAndCancel(String jar) throws Exception {
    List<String> args = new ArrayList<>(Arrays.asList(deployment.jobArgs().split(" ")));
    String body =
        new ObjectMapper().writeValueAsString(Map.of("programArgsList", args, "parallelism", 2));
    String jobId = cluster.rest().post("/jars/" + jar + "/run", body).path("jobid").asText();
    cluster.rest().awaitAllTasksRunning(jobId, STEP);
    cluster.rest().patch("/jobs/" + jobId + "?mode=cancel");
    cluster
        .rest()
        .await(STEP, () -> cluster.rest().jobStatus(jobId).equals("CANCELED"), "job cancelled");
    // The TaskManager lets go of the job (slots freed) shortly after the cancellation.
    cluster
        .rest()
        .await(
            STEP,
            () ->
                cluster.rest().get("/overview").path("slots-available").asInt()
                    == cluster.rest().get("/overview").path("slots-total").asInt(),
            "every slot free again");
  }

  /** Waits until no job's class loader is left in the process (a full GC each time). */
  private static void awaitNoJobClassLoader(String process, long pid) throws Exception {
    cluster
        .rest()
        .await(
            UNLOAD,
            () -> jobClassLoaders(pid) == 0,
            "the cancelled jobs' class loaders unloaded from the " + process);
  }

  /** Job class loaders alive (the histogram counts live objects only, after a full GC). */
  private static long jobClassLoaders(long pid) throws Exception {
    for (String line : jdkTool("jcmd", pid, "GC.class_histogram").split("\n")) {
      if (line.trim().endsWith(" org.apache.flink.util.ChildFirstClassLoader")) {
        return Long.parseLong(line.trim().split("\\s+")[1]);
      }
    }
    return 0;
  }

  /** Metaspace and threads of a Flink process after full garbage collections. */
  record Usage(long metaspaceKb, int threads, Map<String, Integer> threadNames) {
    @Override
    public String toString() {
      return metaspaceKb / 1024 + " MB metaspace, " + threads + " threads";
    }
  }

  private static Usage usage(long pid) throws Exception {
    // Classes unload only in a full collection, and only once nothing references their loader.
    jdkTool("jcmd", pid, "GC.run");
    jdkTool("jcmd", pid, "GC.run");
    long metaspaceKb = Math.round(metaspaceUsedKb(jdkTool("jstat", pid, "-gc")));
    Map<String, Integer> threadNames = new TreeMap<>();
    int threads = 0;
    for (String line : jdkTool("jcmd", pid, "Thread.print").split("\n")) {
      if (line.startsWith("\"")) {
        threads++;
        String name = line.substring(1, line.indexOf('"', 1)).replaceAll("[0-9]+", "N");
        threadNames.merge(name, 1, Integer::sum);
      }
    }
    return new Usage(metaspaceKb, threads, threadNames);
  }

  /** {@code MU} (metaspace used, KB) from {@code jstat -gc}'s header and value lines. */
  private static double metaspaceUsedKb(String jstat) {
    String[] lines = jstat.trim().split("\n");
    List<String> header = Arrays.asList(lines[0].trim().split("\\s+"));
    String[] values = lines[1].trim().split("\\s+");
    return Double.parseDouble(values[header.indexOf("MU")]);
  }

  private static String jdkTool(String tool, long pid, String command)
      throws IOException, InterruptedException {
    Path binary = Paths.get(System.getProperty("java.home"), "bin", tool);
    Path output = Files.createTempFile("collector-" + tool + "-", ".out");
    try {
      // jstat takes its option first, jcmd the process first.
      List<String> arguments =
          command.startsWith("-")
              ? List.of(binary.toString(), command, String.valueOf(pid))
              : List.of(binary.toString(), String.valueOf(pid), command);
      Process process =
          new ProcessBuilder(arguments)
              .redirectErrorStream(true)
              .redirectOutput(output.toFile())
              .start();
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        process.destroyForcibly();
        throw new IOException(tool + " " + command + " failed: " + Files.readString(output));
      }
      return Files.readString(output);
    } finally {
      Files.deleteIfExists(output);
    }
  }
}
