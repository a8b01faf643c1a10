package io.placebrain.collector.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.config.Option;
import io.placebrain.collector.config.Options;
import io.placebrain.collector.job.CollectorJobConfig;
import io.placebrain.collector.query.QueryServiceConfig;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The job, the query service and the local stack read one set of {@code COLLECTOR_*} variables, so
 * a key two of them know must mean the same and default the same, unless the difference is one of
 * the deliberate ones listed here with its reason.
 */
class SharedDefaultsTest {

  /** Keys the job and the query service both read, whose defaults differ on purpose. */
  private static final Map<String, String> JOB_AND_SERVICE_DIFFER =
      Map.of(
          "kafka.group-id", "each consumes the devices topics in a group of its own",
          "mqtt.client-id", "two clients with one id take the broker session from each other",
          "mqtt.ack-timeout", "a checkpoint does not wait for the broker; ResolveAlert waits 5s");

  /** The local stack's endpoints default to empty: empty runs the embedded service. */
  private static final Set<String> LOCAL_EMPTY_MEANS_EMBEDDED =
      Set.of("kafka.bootstrap-servers", "database.url", "mqtt.server", "mqtt.version");

  @Test
  void theJobAndTheQueryServiceShareEveryCommonKeyWithOneDefault() {
    for (String key : common(CollectorJobConfig.OPTIONS, QueryServiceConfig.OPTIONS)) {
      if (!JOB_AND_SERVICE_DIFFER.containsKey(key)) {
        assertThat(QueryServiceConfig.DEFAULTS.get(key))
            .as("default of %s in the query service and the job", key)
            .isEqualTo(CollectorJobConfig.DEFAULTS.get(key));
      }
    }
    assertThat(common(CollectorJobConfig.OPTIONS, QueryServiceConfig.OPTIONS))
        .containsAll(JOB_AND_SERVICE_DIFFER.keySet());
  }

  @Test
  void theLocalStackDefaultsLikeTheAppsItStartsExceptForEmbeddedEndpoints() {
    for (Options app : new Options[] {CollectorJobConfig.OPTIONS, QueryServiceConfig.OPTIONS}) {
      for (String key : common(LocalOptions.OPTIONS, app)) {
        if (LOCAL_EMPTY_MEANS_EMBEDDED.contains(key)) {
          assertThat(LocalOptions.DEFAULTS.get(key)).as(key).isEmpty();
        } else {
          assertThat(LocalOptions.DEFAULTS.get(key))
              .as("default of %s in the local stack", key)
              .isEqualTo(app.defaults().get(key));
        }
      }
    }
  }

  @Test
  void aKeyTwoApplicationsReadIsTheSharedDefinitionFromCommon() {
    // An application's own option has no description (its configuration class and the README say
    // what it means); a shared one comes from common with its description, kind and secrecy.
    Options[] apps = {CollectorJobConfig.OPTIONS, QueryServiceConfig.OPTIONS, LocalOptions.OPTIONS};
    for (Options one : apps) {
      for (Options other : apps) {
        if (one == other) {
          continue;
        }
        for (String key : common(one, other)) {
          Option mine = option(one, key);
          Option theirs = option(other, key);
          assertThat(mine.description()).as("description of the shared %s", key).isNotEmpty();
          assertThat(mine.withDefault(theirs.defaultValue()))
              .as("%s, apart from its default", key)
              .isEqualTo(theirs);
        }
      }
    }
  }

  @Test
  void theParsedDefaultsAgreeBetweenTheJobAndTheQueryService() {
    CollectorJobConfig job = CollectorJobConfig.from(new String[0], Map.of());
    QueryServiceConfig service = QueryServiceConfig.from(new String[0], Map.of());
    assertThat(service.databaseUrl()).isEqualTo(job.databaseUrl());
    assertThat(service.databaseUser()).isEqualTo(job.databaseUser());
    assertThat(service.databasePassword()).isEqualTo(job.databasePassword());
    assertThat(service.schemaSettings()).isEqualTo(job.schemaSettings());
    assertThat(service.kafkaBootstrapServers()).isEqualTo(job.kafkaBootstrapServers());
    assertThat(service.alertResolvedTopic()).isEqualTo(job.controlTopics().alertResolved());
    assertThat(service.deletionTopics()).isEqualTo(job.controlTopics());
    var jobMqtt = job.mqttSettings();
    var serviceMqtt = service.mqttSettings();
    assertThat(serviceMqtt.serverUri()).isEqualTo(jobMqtt.serverUri());
    assertThat(serviceMqtt.version()).isEqualTo(jobMqtt.version());
    assertThat(serviceMqtt.username()).isEqualTo(jobMqtt.username());
    assertThat(serviceMqtt.password()).isEqualTo(jobMqtt.password());
    assertThat(serviceMqtt.caFile()).isEqualTo(jobMqtt.caFile());
  }

  private static Set<String> common(Options one, Options other) {
    Set<String> keys = new TreeSet<>(one.defaults().keySet());
    keys.retainAll(other.defaults().keySet());
    return keys;
  }

  private static Option option(Options options, String key) {
    return options.all().stream().filter(o -> o.key().equals(key)).findFirst().orElseThrow();
  }
}
