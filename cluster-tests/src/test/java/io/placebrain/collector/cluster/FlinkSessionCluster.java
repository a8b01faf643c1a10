package io.placebrain.collector.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.placebrain.collector.testing.process.ChildProcess;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ConfigurationUtils;
import org.apache.flink.configuration.GlobalConfiguration;

/**
 * A Flink session cluster as an operator runs it: a JobManager and TaskManagers as separate JVMs,
 * from the jars the build assembled under {@code target/flink} (what Flink's distribution ships)
 * and the repository's {@code flink-conf/config.yaml}, of which only addresses, ports and
 * directories are changed: everything on loopback, on free ports, under {@code target/}.
 */
final class FlinkSessionCluster implements AutoCloseable {

  private static final String JOB_MANAGER =
      "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  private static final String TASK_MANAGER =
      "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
  private static final String CLI = "org.apache.flink.client.cli.CliFrontend";
  private static final String MEMORY_CALCULATOR =
      "org.apache.flink.runtime.util.bash.BashJavaUtils";

  private final Path home = Paths.get(System.getProperty("collector.flink.home"));
  private final Path directory;
  private final Path conf;
  private final Path logs;
  private final Configuration configuration;
  private final int restPort;
  private final int jobManagerPrometheusPort;
  private final List<ChildProcess> processes = new ArrayList<>();
  private ChildProcess jobManager;
  private ChildProcess taskManager;
  private int taskManagers;
  private int taskManagerPrometheusPort;
  private final FlinkRest rest;

  private FlinkSessionCluster(Path directory) throws IOException {
    this.directory = directory;
    this.conf = Files.createDirectories(directory.resolve("conf"));
    this.logs = Files.createDirectories(directory.resolve("log"));
    Path repositoryConfig = Paths.get(System.getProperty("collector.flink.conf"));
    configuration = GlobalConfiguration.loadConfiguration(repositoryConfig.getParent().toString());
    restPort = freePort();
    jobManagerPrometheusPort = freePort();
    // Addresses: loopback only.
    configuration.setString("jobmanager.rpc.address", "127.0.0.1");
    configuration.setString("jobmanager.bind-host", "127.0.0.1");
    configuration.setString("taskmanager.host", "127.0.0.1");
    configuration.setString("taskmanager.bind-host", "127.0.0.1");
    configuration.setString("rest.address", "127.0.0.1");
    configuration.setString("rest.bind-address", "127.0.0.1");
    // Ports: free ones, so the test runs beside anything else.
    configuration.setString("jobmanager.rpc.port", String.valueOf(freePort()));
    configuration.setString("rest.port", String.valueOf(restPort));
    configuration.setString("blob.server.port", "0");
    configuration.setString("taskmanager.rpc.port", "0");
    configuration.setString("taskmanager.data.port", "0");
    // Directories: under target/.
    // The keys flink-conf/config.yaml uses (Flink reads them before the deprecated ones).
    configuration.set(
        CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpointDirectory().toUri().toString());
    configuration.set(
        CheckpointingOptions.SAVEPOINT_DIRECTORY, savepointDirectory().toUri().toString());
    configuration.setString(
        "io.tmp.dirs", Files.createDirectories(directory.resolve("tmp")).toString());
    Files.write(
        conf.resolve("config.yaml"),
        ConfigurationUtils.convertConfigToWritableLines(configuration, false));
    Files.copy(
        Paths.get(System.getProperty("collector.flink.log4j")), conf.resolve("log4j.properties"));
    Files.copy(conf.resolve("log4j.properties"), conf.resolve("log4j-cli.properties"));
    rest = new FlinkRest(restPort);
  }

  /** Starts a JobManager and one TaskManager and waits until the TaskManager registered. */
  static FlinkSessionCluster start() throws Exception {
    Path base = Paths.get("target", "cluster-" + UUID.randomUUID().toString().substring(0, 8));
    FlinkSessionCluster cluster = new FlinkSessionCluster(base.toAbsolutePath());
    try {
      cluster.startJobManager();
      cluster.startTaskManager();
      return cluster;
    } catch (Exception | Error e) {
      cluster.close();
      throw e;
    }
  }

  Path checkpointDirectory() throws IOException {
    return Files.createDirectories(directory.resolve("checkpoints"));
  }

  Path savepointDirectory() throws IOException {
    return Files.createDirectories(directory.resolve("savepoints"));
  }

  FlinkRest rest() {
    return rest;
  }

  Configuration configuration() {
    return configuration;
  }

  int jobManagerPrometheusPort() {
    return jobManagerPrometheusPort;
  }

  int taskManagerPrometheusPort() {
    return taskManagerPrometheusPort;
  }

  ChildProcess jobManager() {
    return jobManager;
  }

  ChildProcess taskManager() {
    return taskManager;
  }

  private void startJobManager() throws Exception {
    List<String> command = java("jobmanager", "GET_JM_RESOURCE_PARAMS", "jobmanager");
    command.add(JOB_MANAGER);
    command.addAll(List.of("--configDir", conf.toString()));
    command.addAll(dynamic("metrics.reporter.prom.port", jobManagerPrometheusPort));
    command.addAll(memoryDynamicProperties);
    jobManager = spawn("jobmanager", command);
    rest.await(Duration.ofSeconds(90), () -> rest.get("/overview") != null, "REST API up");
  }

  /** Starts another TaskManager (e.g. after {@link ChildProcess#kill}) and waits until it is in. */
  ChildProcess startTaskManager() throws Exception {
    Set<String> before = taskManagerIds();
    taskManagers++;
    taskManagerPrometheusPort = freePort();
    List<String> command =
        java("taskmanager-" + taskManagers, "GET_TM_RESOURCE_PARAMS", "taskmanager");
    command.add(TASK_MANAGER);
    command.addAll(List.of("--configDir", conf.toString()));
    command.addAll(dynamic("metrics.reporter.prom.port", taskManagerPrometheusPort));
    command.addAll(memoryDynamicProperties);
    taskManager = spawn("taskmanager-" + taskManagers, command);
    rest.await(
        Duration.ofSeconds(90),
        () -> !before.containsAll(taskManagerIds()),
        "TaskManager " + taskManagers + " registered");
    return taskManager;
  }

  private Set<String> taskManagerIds() throws IOException, InterruptedException {
    Set<String> ids = new HashSet<>();
    for (JsonNode taskManager : rest.get("/taskmanagers").path("taskmanagers")) {
      ids.add(taskManager.path("id").asText());
    }
    return ids;
  }

  private List<String> memoryDynamicProperties = List.of();

  /**
   * The JVM command line Flink's scripts would build: memory flags from Flink's own calculator, the
   * configured Java options, logging to a file of the process's own.
   */
  private List<String> java(String process, String memoryCommand, String role)
      throws IOException, InterruptedException {
    List<String> memory = memoryParameters(memoryCommand);
    List<String> command = new ArrayList<>();
    command.add(javaBinary());
    command.addAll(split(memory.get(0)));
    memoryDynamicProperties = split(memory.get(1));
    command.addAll(split(configuration.getString("env.java.opts.all", "")));
    command.addAll(split(configuration.getString("env.java.opts." + role, "")));
    command.add("-Dlog.file=" + logs.resolve(process + ".log"));
    command.add("-Dlog4j.configurationFile=" + conf.resolve("log4j.properties").toUri());
    command.add("-classpath");
    command.add(home.resolve("lib") + "/*");
    return command;
  }

  private List<String> memoryParameters(String memoryCommand)
      throws IOException, InterruptedException {
    Path output = logs.resolve("memory-" + memoryCommand + ".out");
    Files.deleteIfExists(output);
    ProcessBuilder builder =
        new ProcessBuilder(
            javaBinary(),
            "-classpath",
            home.resolve("lib") + "/*",
            MEMORY_CALCULATOR,
            memoryCommand,
            "--configDir",
            conf.toString());
    builder.redirectErrorStream(true);
    builder.redirectOutput(output.toFile());
    Process process = builder.start();
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new IOException("Flink's memory calculator failed: " + Files.readString(output));
    }
    List<String> results = new ArrayList<>();
    for (String line : Files.readAllLines(output)) {
      if (line.startsWith("BASH_JAVA_UTILS_EXEC_RESULT:")) {
        results.add(line.substring("BASH_JAVA_UTILS_EXEC_RESULT:".length()));
      }
    }
    if (results.size() < 2) {
      throw new IOException("Unexpected memory calculator output: " + Files.readString(output));
    }
    return results;
  }

  /** A command that runs Flink's CLI against this cluster, as {@code bin/flink} would. */
  Path cli() throws IOException {
    return cli(directory.resolve("bin/flink"), conf);
  }

  /**
   * Flink's CLI pointed at a port where no JobManager listens, as when the JobManager is down or
   * not up yet; it gives up at once instead of retrying for a minute.
   */
  Path unreachableCli() throws IOException {
    Path unreachableConf = Files.createDirectories(directory.resolve("conf-unreachable"));
    Configuration unreachable = new Configuration(configuration);
    unreachable.setString("rest.port", String.valueOf(freePort()));
    unreachable.setString("rest.retry.max-attempts", "0");
    Files.write(
        unreachableConf.resolve("config.yaml"),
        ConfigurationUtils.convertConfigToWritableLines(unreachable, false));
    Files.copy(
        conf.resolve("log4j-cli.properties"),
        unreachableConf.resolve("log4j-cli.properties"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return cli(directory.resolve("bin/flink-unreachable"), unreachableConf);
  }

  private Path cli(Path script, Path conf) throws IOException {
    if (!Files.exists(script)) {
      Files.createDirectories(script.getParent());
      List<String> command = new ArrayList<>();
      command.add(javaBinary());
      command.addAll(split(configuration.getString("env.java.opts.all", "")));
      command.addAll(split(configuration.getString("env.java.opts.client", "")));
      command.add("-Dlog.file=" + logs.resolve("cli.log"));
      command.add("-Dlog4j.configurationFile=" + conf.resolve("log4j-cli.properties").toUri());
      command.add("-classpath");
      command.add(home.resolve("lib") + "/*");
      command.add(CLI);
      StringBuilder text = new StringBuilder("#!/usr/bin/env bash\n");
      text.append("export FLINK_CONF_DIR='").append(conf).append("'\n");
      text.append("export FLINK_PLUGINS_DIR='").append(home.resolve("plugins")).append("'\n");
      text.append("export FLINK_LIB_DIR='").append(home.resolve("lib")).append("'\n");
      text.append("exec");
      for (String part : command) {
        text.append(" '").append(part).append("'");
      }
      text.append(" \"$@\"\n");
      Files.writeString(script, text);
      script.toFile().setExecutable(true);
    }
    return script;
  }

  private ChildProcess spawn(String name, List<String> command) throws Exception {
    ChildProcess process =
        ChildProcess.start(
            name,
            command,
            Map.of(
                "FLINK_CONF_DIR", conf.toString(),
                "FLINK_PLUGINS_DIR", home.resolve("plugins").toString(),
                "FLINK_LIB_DIR", home.resolve("lib").toString()),
            logs.resolve(name + ".out"));
    processes.add(process);
    return process;
  }

  Path logs() {
    return logs;
  }

  private static List<String> dynamic(String key, Object value) {
    return List.of("-D", key + "=" + value);
  }

  private static List<String> split(String options) {
    List<String> parts = new ArrayList<>();
    for (String part : options.trim().split("\\s+")) {
      if (!part.isEmpty()) {
        parts.add(part);
      }
    }
    return parts;
  }

  private static String javaBinary() {
    return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Override
  public void close() {
    for (int i = processes.size() - 1; i >= 0; i--) {
      processes.get(i).close();
    }
    processes.clear();
  }

  @Override
  public String toString() {
    return "Flink session cluster at " + rest.baseUri() + " (logs in " + logs + ")";
  }
}
