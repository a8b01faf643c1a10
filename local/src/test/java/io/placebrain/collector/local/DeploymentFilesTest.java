package io.placebrain.collector.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.placebrain.collector.config.Settings;
import io.placebrain.collector.job.CollectorJobConfig;
import io.placebrain.collector.job.RequiredTopics;
import io.placebrain.collector.query.QueryServiceConfig;
import java.io.Reader;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.flink.client.cli.CliFrontend;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.FallbackKey;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.runtime.entrypoint.ClusterEntrypoint;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The deployment files agree with the code, with the images they run and with themselves: images
 * pinned, mounted files present, every setting passed to the job or the query service one they
 * know, the Flink configuration valid for Flink's own loader and complete, what the Flink image's
 * entrypoint needs, dashboards pointing at provisioned data sources. (No Docker engine runs here:
 * whether the images start is not tested.)
 */
class DeploymentFilesTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Keys of Flink's metric reporters, one level per reporter name the configuration chooses. */
  private static final String REPORTERS = "metrics.reporter.";

  /** The Flink services: all run the job image through the same entrypoint. */
  private static final List<String> FLINK_SERVICES =
      List.of("jobmanager", "taskmanager", "job-submitter");

  /** Services that run once and exit; every other one is long-running. */
  private static final List<String> ONE_SHOT_SERVICES = List.of("kafka-init", "job-submitter");

  /**
   * The JVM options Flink 2.2.1's own config.yaml sets for Java 17 ({@code env.java.opts.all}); our
   * config.yaml replaces that file, so it must carry them.
   */
  private static final List<String> JAVA_17_OPTIONS =
      List.of(
          "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
          "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
          "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
          "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
          "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
          "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
          "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
          "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
          "--add-opens=java.base/java.lang=ALL-UNNAMED",
          "--add-opens=java.base/java.net=ALL-UNNAMED",
          "--add-opens=java.base/java.io=ALL-UNNAMED",
          "--add-opens=java.base/java.nio=ALL-UNNAMED",
          "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
          "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
          "--add-opens=java.base/java.text=ALL-UNNAMED",
          "--add-opens=java.base/java.time=ALL-UNNAMED",
          "--add-opens=java.base/java.util=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

  /** The compose file; SnakeYAML applies the merge keys ({@code <<: *flink}) Jackson would not. */
  private static JsonNode compose() throws Exception {
    try (Reader reader = Files.newBufferedReader(ROOT.resolve("docker-compose.yml"))) {
      Object tree = new Yaml().load(reader);
      return JSON.valueToTree(tree);
    }
  }

  /** flink-conf/config.yaml as Flink 2.2.1 itself loads it (standard YAML, flattened keys). */
  private static Configuration flinkConf() {
    return GlobalConfiguration.loadConfiguration(ROOT.resolve("flink-conf").toString());
  }

  /** A service's environment, written as a map or as a list of {@code NAME=value}. */
  private static Map<String, String> environment(JsonNode service) {
    Map<String, String> environment = new LinkedHashMap<>();
    JsonNode node = service.path("environment");
    if (node.isArray()) {
      node.forEach(
          entry -> {
            String[] parts = entry.asText().split("=", 2);
            environment.put(parts[0], parts.length > 1 ? parts[1] : "");
          });
    } else {
      node.properties().forEach(e -> environment.put(e.getKey(), e.getValue().asText()));
    }
    return environment;
  }

  /** Container path → source (a ./file or a named volume) of a service's mounts. */
  private static Map<String, String> mounts(JsonNode service) {
    Map<String, String> mounts = new HashMap<>();
    for (JsonNode volume : service.path("volumes")) {
      String[] parts = volume.asText().split(":");
      mounts.put(parts[1], parts[0]);
    }
    return mounts;
  }

  /**
   * A Dockerfile's stages in order, by name ({@code AS name}, else the image), each with its
   * instructions, continuation lines joined and comments left out.
   */
  private static Map<String, List<String>> stages(String dockerfile) throws Exception {
    String text = Files.readString(ROOT.resolve(dockerfile)).replaceAll("\\\\\n", " ");
    Map<String, List<String>> stages = new LinkedHashMap<>();
    List<String> stage = new ArrayList<>();
    for (String line : text.split("\n")) {
      String instruction = line.strip();
      if (instruction.startsWith("FROM ")) {
        String[] words = instruction.split("\\s+");
        stage = new ArrayList<>();
        stages.put(words.length == 4 ? words[3] : words[1], stage);
      }
      if (!instruction.isEmpty() && !instruction.startsWith("#")) {
        stage.add(instruction);
      }
    }
    return stages;
  }

  /** The instructions of a Dockerfile's last stage. */
  private static List<String> finalStage(String dockerfile) throws Exception {
    List<List<String>> stages = new ArrayList<>(stages(dockerfile).values());
    return stages.get(stages.size() - 1);
  }

  /** The user the final image runs as (the last USER instruction; none means root). */
  private static String imageUser(String dockerfile) throws Exception {
    String user = "root";
    for (String instruction : finalStage(dockerfile)) {
      if (instruction.startsWith("USER ")) {
        user = instruction.substring(5).strip().split(":")[0];
      }
    }
    return user;
  }

  @Test
  void composeHasTheWholeStack() throws Exception {
    List<String> services = new ArrayList<>();
    compose().get("services").fieldNames().forEachRemaining(services::add);
    assertThat(services)
        .containsExactlyInAnyOrder(
            "kafka",
            "kafka-init",
            "timescaledb",
            "mqtt",
            "jobmanager",
            "taskmanager",
            "job-submitter",
            "query-service",
            "prometheus",
            "grafana");
  }

  @Test
  void composeCreatesEveryTopicOfTheJobTheControlTopicsCompacted() throws Exception {
    StringBuilder script = new StringBuilder();
    compose()
        .get("services")
        .get("kafka-init")
        .get("command")
        .forEach(part -> script.append(part.asText()).append('\n'));
    CollectorJobConfig defaults = CollectorJobConfig.from(new String[0], Map.of());
    for (String topic : RequiredTopics.of(defaults)) {
      assertThat(script).as("kafka-init creates " + topic).contains(topic);
    }
    Matcher loop = Pattern.compile("for t in ([^;]+); do").matcher(script);
    assertThat(loop.find()).as("the compacted topics' loop").isTrue();
    assertThat(loop.group(1).trim().split("\\s+"))
        .containsExactlyInAnyOrderElementsOf(defaults.controlTopics().all());
    assertThat(script)
        .contains("create --topic \"$$t\" --partitions 1 --config cleanup.policy=compact");
  }

  @Test
  void everyImageIsPinnedToAVersion() throws Exception {
    List<String> images = new ArrayList<>();
    compose().get("services").forEach(service -> images.add(service.path("image").asText()));
    for (String dockerfile : List.of("job/Dockerfile", "query-service/Dockerfile")) {
      for (String line : Files.readAllLines(ROOT.resolve(dockerfile))) {
        if (line.startsWith("FROM ")) {
          images.add(line.split("\\s+")[1]);
        }
      }
    }
    assertThat(images)
        .allSatisfy(
            image ->
                assertThat(image)
                    .matches("[a-z0-9./_-]+:[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*")
                    .doesNotEndWith(":latest"));
  }

  @Test
  void nothingIsPublishedBeyondThisMachine() throws Exception {
    List<String> ports = new ArrayList<>();
    for (JsonNode service : compose().get("services")) {
      assertThat(service.path("network_mode").asText()).isNotEqualTo("host");
      for (JsonNode port : service.path("ports")) {
        // Short syntax "127.0.0.1:8081:8081", or long syntax with host_ip.
        ports.add(port.isObject() ? port.path("host_ip").asText() + ":" : port.asText());
      }
    }
    assertThat(ports).isNotEmpty().allSatisfy(port -> assertThat(port).startsWith("127.0.0.1:"));
  }

  @Test
  void everyMountedFileExists() throws Exception {
    for (JsonNode service : compose().get("services")) {
      for (JsonNode volume : service.path("volumes")) {
        String source = volume.asText().split(":")[0];
        if (source.startsWith("./")) {
          assertThat(ROOT.resolve(source)).as(volume.asText()).exists();
        }
      }
    }
  }

  @Test
  void theJobAndTheServiceAreGivenOnlySettingsTheyKnow() throws Exception {
    JsonNode services = compose().get("services");
    String jobArgs = environment(services.get("job-submitter")).get("JOB_ARGS");
    Matcher flag = Pattern.compile("--([a-z.-]+) ").matcher(jobArgs);
    Set<String> jobFlags = new HashSet<>();
    while (flag.find()) {
      jobFlags.add(flag.group(1));
    }
    assertThat(jobFlags).isNotEmpty();
    assertThat(CollectorJobConfig.DEFAULTS.keySet()).containsAll(jobFlags);

    Set<String> known = new HashSet<>();
    QueryServiceConfig.DEFAULTS.keySet().forEach(key -> known.add(Settings.environmentName(key)));
    Iterator<String> names = services.get("query-service").get("environment").fieldNames();
    names.forEachRemaining(name -> assertThat(known).contains(name));
  }

  @Test
  void flinkConfigurationIsCompleteForASessionCluster() {
    Configuration conf = flinkConf();
    assertThat(conf.get(StateBackendOptions.STATE_BACKEND)).isEqualTo("rocksdb");
    assertThat(conf.get(CheckpointingOptions.INCREMENTAL_CHECKPOINTS)).isTrue();
    assertThat(conf.get(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS)).isGreaterThan(1);
    assertThat(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).startsWith("file:///");
    assertThat(conf.get(CheckpointingOptions.SAVEPOINT_DIRECTORY)).startsWith("file:///");
    assertThat(conf.get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE))
        .isEqualTo(CheckpointingMode.EXACTLY_ONCE);
    for (ConfigOption<?> option :
        List.of(
            CheckpointingOptions.CHECKPOINTING_INTERVAL,
            CheckpointingOptions.CHECKPOINTING_TIMEOUT,
            CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS,
            CheckpointingOptions.TOLERABLE_FAILURE_NUMBER)) {
      assertThat(conf.contains(option)).as(option.key()).isTrue();
    }
    assertThat(conf.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION))
        .isEqualTo(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    assertThat(conf.get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("exponential-delay");
    assertThat(conf.toMap().get(REPORTERS + "prom." + MetricOptions.REPORTER_FACTORY_CLASS.key()))
        .endsWith("PrometheusReporterFactory");
    assertThat(conf.contains(TaskManagerOptions.TOTAL_PROCESS_MEMORY)).isTrue();
    assertThat(conf.contains(JobManagerOptions.TOTAL_PROCESS_MEMORY)).isTrue();
    // REST (job submission included) on loopback unless a deployment opens it deliberately.
    assertThat(conf.get(RestOptions.BIND_ADDRESS)).isIn("localhost", "127.0.0.1");
  }

  @Test
  void flinkConfigurationCarriesTheJava17Options() {
    String options = flinkConf().get(CoreOptions.FLINK_JVM_OPTIONS);
    assertThat(Arrays.asList(options.strip().split("\\s+"))).containsAll(JAVA_17_OPTIONS);
  }

  /**
   * Every key is one Flink 2.2.1 defines under its current name: a deprecated one logs a warning at
   * every start, an unknown one (a typo, a removed option) is silently ignored.
   */
  @Test
  void flinkConfigurationUsesOnlyCurrentKeys() throws Exception {
    Map<String, String> deprecated = new HashMap<>();
    Set<String> current = new HashSet<>();
    for (ConfigOption<?> option : flinkOptions()) {
      current.add(option.key());
      for (FallbackKey fallback : option.fallbackKeys()) {
        if (fallback.isDeprecated()) {
          deprecated.put(fallback.getKey(), option.key());
        }
      }
    }
    assertThat(current).contains(CheckpointingOptions.SAVEPOINT_DIRECTORY.key());
    for (String key : flinkConf().keySet()) {
      assertThat(deprecated.get(key)).as("deprecated key " + key).isNull();
      if (!key.startsWith(REPORTERS)) {
        assertThat(current.contains(key)).as("unknown key " + key).isTrue();
      }
    }
  }

  /** The options of the Flink jars on this classpath: the public ConfigOption constants. */
  private static List<ConfigOption<?>> flinkOptions() throws Exception {
    List<ConfigOption<?>> options = new ArrayList<>();
    ClassLoader loader = DeploymentFilesTest.class.getClassLoader();
    for (Class<?> anchor :
        List.of(
            CoreOptions.class, ClusterEntrypoint.class, CliFrontend.class, RocksDBOptions.class)) {
      URI jar = anchor.getProtectionDomain().getCodeSource().getLocation().toURI();
      try (JarFile file = new JarFile(Path.of(jar).toFile())) {
        Enumeration<JarEntry> entries = file.entries();
        while (entries.hasMoreElements()) {
          String name = entries.nextElement().getName();
          if (!name.endsWith("Options.class") || name.contains("$")) {
            continue;
          }
          String className = name.substring(0, name.length() - 6).replace('/', '.');
          try {
            for (Field field : Class.forName(className, false, loader).getFields()) {
              if (Modifier.isStatic(field.getModifiers())
                  && field.getType() == ConfigOption.class) {
                options.add((ConfigOption<?>) field.get(null));
              }
            }
          } catch (LinkageError e) {
            // A class needing what this classpath lacks defines nothing our cluster could use.
          }
        }
      }
    }
    return options;
  }

  /**
   * The image's entrypoint writes jobmanager.rpc.address from JOB_MANAGER_RPC_ADDRESS, else the
   * container's own hostname: every Flink container must name the JobManager's service.
   */
  @Test
  void everyFlinkContainerFindsTheJobManager() throws Exception {
    JsonNode services = compose().get("services");
    for (String name : FLINK_SERVICES) {
      assertThat(environment(services.get(name)))
          .as(name)
          .containsEntry("JOB_MANAGER_RPC_ADDRESS", "jobmanager");
    }
    // Its REST API listens beyond loopback inside its container (published on 127.0.0.1 only).
    assertThat(environment(services.get("jobmanager")).get("FLINK_PROPERTIES"))
        .containsPattern("(?m)^\\s*rest\\.bind-address:\\s*0\\.0\\.0\\.0\\s*$");
  }

  /** Every Flink container, the submitter's CLI too, runs flink-conf/config.yaml. */
  @Test
  void everyFlinkContainerRunsTheRepositoryConfiguration() throws Exception {
    JsonNode services = compose().get("services");
    for (String name : FLINK_SERVICES) {
      JsonNode service = services.get(name);
      assertThat(mounts(service))
          .as(name)
          .containsEntry("/opt/collector/flink-conf/config.yaml", "./flink-conf/config.yaml");
      List<String> entrypoint = new ArrayList<>();
      service.path("entrypoint").forEach(part -> entrypoint.add(part.asText()));
      assertThat(String.join(" ", entrypoint))
          .as(name)
          .contains("cp /opt/collector/flink-conf/config.yaml /opt/flink/conf/config.yaml")
          .contains("exec /docker-entrypoint.sh");
    }
  }

  @Test
  void theSubmitterRunsTheSubmitScriptOnTheClustersDirectories() throws Exception {
    JsonNode submitter = compose().get("services").get("job-submitter");
    String script =
        mounts(submitter).entrySet().stream()
            .filter(mount -> mount.getValue().equals("./deploy/flink/submit-job.sh"))
            .map(Map.Entry::getKey)
            .findFirst()
            .orElseThrow(() -> new AssertionError("deploy/flink/submit-job.sh is not mounted"));
    List<String> command = new ArrayList<>();
    submitter.path("command").forEach(part -> command.add(part.asText()));
    assertThat(command).contains(script);

    Map<String, String> environment = environment(submitter);
    Configuration conf = flinkConf();
    assertThat(environment)
        .containsEntry("JOB_NAME", "collector")
        .containsEntry(
            "CHECKPOINT_DIR",
            URI.create(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).getPath())
        .containsEntry(
            "SAVEPOINT_DIR",
            URI.create(conf.get(CheckpointingOptions.SAVEPOINT_DIRECTORY)).getPath());
    assertThat(finalStage("job/Dockerfile"))
        .anySatisfy(
            line ->
                assertThat(line).startsWith("COPY ").endsWith(" " + environment.get("JOB_JAR")));
  }

  /**
   * Checkpoints and savepoints live on a named volume every Flink container mounts, created by the
   * image owned by Flink's user (uid 9999): Docker gives a new volume the image directory's owner.
   */
  @Test
  void flinkDataIsOnAVolumeFlinkCanWrite() throws Exception {
    JsonNode compose = compose();
    Configuration conf = flinkConf();
    Path checkpoints = Path.of(URI.create(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)));
    Path savepoints = Path.of(URI.create(conf.get(CheckpointingOptions.SAVEPOINT_DIRECTORY)));
    for (String name : FLINK_SERVICES) {
      Map<String, String> mounts = mounts(compose.get("services").get(name));
      assertThat(mounts).as(name).containsKey("/flink-data");
      assertThat(compose.get("volumes").has(mounts.get("/flink-data"))).as(name).isTrue();
    }
    assertThat(checkpoints.startsWith("/flink-data")).isTrue();
    assertThat(savepoints.startsWith("/flink-data")).isTrue();
    assertThat(finalStage("job/Dockerfile"))
        .anySatisfy(
            line ->
                assertThat(line)
                    .startsWith("RUN ")
                    .containsPattern("mkdir -p .*/flink-data")
                    .containsPattern("chown (-R )?(flink|9999)(:(flink|9999))? /flink-data"));
    assertThat(imageUser("job/Dockerfile")).isIn("flink", "9999");
  }

  @Test
  void kafkaKeepsItsLogOnAVolume() throws Exception {
    JsonNode compose = compose();
    JsonNode kafka = compose.get("services").get("kafka");
    String logDirs = environment(kafka).get("KAFKA_LOG_DIRS");
    assertThat(logDirs).isNotBlank();
    Map<String, String> mounts = mounts(kafka);
    for (String dir : logDirs.split(",")) {
      assertThat(mounts).as(dir).containsKey(dir.strip());
      assertThat(compose.get("volumes").has(mounts.get(dir.strip()))).as(dir).isTrue();
    }
  }

  @Test
  void longRunningServicesRestartAndReportTheirHealth() throws Exception {
    JsonNode services = compose().get("services");
    services
        .properties()
        .forEach(
            entry -> {
              String restart = entry.getValue().path("restart").asText();
              if (entry.getKey().equals("job-submitter")) {
                // Done once it submitted or found the job running; tried again when it failed.
                assertThat(restart).as(entry.getKey()).isEqualTo("on-failure");
              } else if (ONE_SHOT_SERVICES.contains(entry.getKey())) {
                assertThat(restart).as(entry.getKey()).isEqualTo("no");
              } else {
                assertThat(restart).as(entry.getKey()).isIn("unless-stopped", "always");
              }
            });
    for (String name :
        List.of("kafka", "timescaledb", "jobmanager", "taskmanager", "query-service")) {
      assertThat(services.get(name).at("/healthcheck/test")).as(name).isNotEmpty();
    }
    // Started only once what they need is up: the TaskManager registers with a ready JobManager,
    // the job is submitted to a cluster with slots.
    assertThat(services.get("taskmanager").at("/depends_on/jobmanager/condition").asText())
        .isEqualTo("service_healthy");
    for (String dependency : List.of("jobmanager", "taskmanager", "timescaledb")) {
      assertThat(
              services.get("job-submitter").at("/depends_on/" + dependency + "/condition").asText())
          .as(dependency)
          .isEqualTo("service_healthy");
    }
  }

  @Test
  void grafanasAdminPasswordComesFromTheEnvironment() throws Exception {
    String password =
        environment(compose().get("services").get("grafana")).get("GF_SECURITY_ADMIN_PASSWORD");
    // A required variable (${NAME} or ${NAME:?message}), never a default written here.
    assertThat(password).matches("\\$\\{[A-Z_][A-Z0-9_]*(:?\\?[^}]*)?}");
  }

  @Test
  void theQueryServiceImageDoesNotRunAsRoot() throws Exception {
    assertThat(imageUser("query-service/Dockerfile")).isNotIn("root", "0");
  }

  /**
   * Each image's build resolves dependencies from the poms before the sources are copied: a stage
   * collects every pom.xml (whatever modules the reactor has), the build stage copies that tree and
   * runs Maven on it, and only then copies the sources.
   */
  @Test
  void dockerfilesCacheDependenciesBeforeTheSources() throws Exception {
    for (String dockerfile : List.of("job/Dockerfile", "query-service/Dockerfile")) {
      Map<String, List<String>> stages = stages(dockerfile);
      String poms =
          stages.entrySet().stream()
              .filter(
                  stage ->
                      stage.getValue().stream()
                          .anyMatch(
                              line ->
                                  line.startsWith("RUN ")
                                      && line.contains("find . -name pom.xml")
                                      && line.contains("cp --parents")))
              .map(Map.Entry::getKey)
              .findFirst()
              .orElseThrow(() -> new AssertionError(dockerfile + ": no stage collects the poms"));
      List<String> build =
          stages.values().stream()
              .filter(stage -> stage.contains("COPY . ."))
              .filter(stage -> stage.stream().anyMatch(line -> line.startsWith("RUN ./mvnw ")))
              .findFirst()
              .orElseThrow(() -> new AssertionError(dockerfile + ": no Maven build stage"));
      List<String> before = build.subList(0, build.indexOf("COPY . ."));
      assertThat(before)
          .as(dockerfile)
          .containsSubsequence(
              "COPY mvnw ./", "COPY .mvn/ .mvn/", "COPY --from=" + poms + " /poms/ ./");
      assertThat(before.get(before.size() - 1)).as(dockerfile).startsWith("RUN ./mvnw ");
    }
  }

  @Test
  void scriptsKeepUnixLineEndings() throws Exception {
    Map<String, String> attributes = new HashMap<>();
    for (String line : Files.readAllLines(ROOT.resolve(".gitattributes"))) {
      String[] parts = line.strip().split("\\s+", 2);
      if (parts.length == 2 && !parts[0].startsWith("#")) {
        attributes.put(parts[0], parts[1]);
      }
    }
    for (String pattern : List.of("mvnw", "*.sh", "run")) {
      assertThat(attributes.get(pattern)).as(pattern).contains("eol=lf");
    }
  }

  @Test
  void dashboardsUseTheProvisionedDataSources() throws Exception {
    JsonNode datasources =
        YAML.readTree(
            ROOT.resolve("deploy/grafana/provisioning/datasources/datasources.yml").toFile());
    Set<String> uids = new HashSet<>();
    datasources.get("datasources").forEach(source -> uids.add(source.get("uid").asText()));
    try (Stream<Path> files = Files.list(ROOT.resolve("deploy/grafana/dashboards"))) {
      List<Path> dashboards = files.toList();
      assertThat(dashboards).hasSizeGreaterThanOrEqualTo(2);
      for (Path file : dashboards) {
        JsonNode dashboard = JSON.readTree(file.toFile());
        assertThat(dashboard.get("panels")).isNotEmpty();
        for (JsonNode panel : dashboard.get("panels")) {
          assertThat(uids)
              .as(file + " " + panel.get("title"))
              .contains(panel.at("/datasource/uid").asText());
          assertThat(panel.get("targets")).isNotEmpty();
        }
      }
    }
  }
}
