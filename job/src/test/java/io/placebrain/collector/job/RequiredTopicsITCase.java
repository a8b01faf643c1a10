package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.kafka.TestKafka;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A start against a Kafka that lacks one of the job's topics fails naming it. */
class RequiredTopicsITCase {

  private final TestKafka kafka = TestServices.kafka();

  @Test
  void aMissingTopicIsNamedAndPresentOnesPass() throws Exception {
    String present = TestKafka.uniqueTopic("present");
    String missing = TestKafka.uniqueTopic("collector.alerts.resolved");
    kafka.createTopic(present, 1);

    assertThatCode(
            () ->
                RequiredTopics.check(
                    kafka.bootstrapServers(), List.of(present), Duration.ofSeconds(30)))
        .doesNotThrowAnyException();
    assertThatThrownBy(
            () ->
                RequiredTopics.check(
                    kafka.bootstrapServers(), List.of(present, missing), Duration.ofSeconds(30)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(missing)
        .hasMessageNotContaining(present);
  }

  @Test
  void theJobsTopicsIncludeTheResolvedAlertsTopic() {
    CollectorJobConfig config = CollectorJobConfig.from(new String[0], java.util.Map.of());
    org.assertj.core.api.Assertions.assertThat(RequiredTopics.of(config))
        .contains("collector.alerts.resolved", "telemetry.readings", "devices.threshold.created");
  }
}
