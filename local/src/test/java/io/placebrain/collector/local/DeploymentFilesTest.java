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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The deployment files agree with the code and with themselves: images pinned, mounted files
 * present, every setting passed to the job or the query service one they know, the Flink
 * configuration complete, dashboards pointing at provisioned data sources. (No Docker engine runs
 * here: whether the images start is not tested.)
 */
class DeploymentFilesTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The compose file; SnakeYAML applies the merge keys ({@code <<: *flink}) Jackson would not. */
  private static JsonNode compose() throws Exception {
    try (Reader reader = Files.newBufferedReader(ROOT.resolve("docker-compose.yml"))) {
      Object tree = new Yaml().load(reader);
      return JSON.valueToTree(tree);
    }
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
    compose()
        .get("services")
        .forEach(service -> service.path("ports").forEach(p -> ports.add(p.asText())));
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
    String script = services.get("job-submitter").get("command").get(0).asText();
    Matcher flag = Pattern.compile("--([a-z.-]+) ").matcher(script);
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
  void flinkConfigurationIsCompleteForASessionCluster() throws Exception {
    JsonNode conf = YAML.readTree(ROOT.resolve("flink-conf/config.yaml").toFile());
    assertThat(conf.at("/state/backend/type").asText()).isEqualTo("rocksdb");
    assertThat(conf.at("/state/backend/incremental").asBoolean()).isTrue();
    assertThat(conf.at("/state/checkpoints/num-retained").asInt()).isPositive();
    JsonNode checkpointing = conf.at("/execution/checkpointing");
    assertThat(checkpointing.get("mode").asText()).isEqualTo("EXACTLY_ONCE");
    for (String key : List.of("interval", "timeout", "min-pause", "tolerable-failed-checkpoints")) {
      assertThat(checkpointing.has(key)).as(key).isTrue();
    }
    assertThat(checkpointing.get("externalized-checkpoint-retention").asText())
        .isEqualTo("RETAIN_ON_CANCELLATION");
    assertThat(conf.at("/restart-strategy/type").asText()).isEqualTo("exponential-delay");
    assertThat(conf.at("/metrics/reporter/prom/factory/class").asText())
        .endsWith("PrometheusReporterFactory");
    assertThat(conf.at("/taskmanager/memory/process/size").asText()).isNotEmpty();
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
