package io.placebrain.collector.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.testing.kafka.TestKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

/** The shared Kafka broker accepts topics, records with headers and timestamps, and serves them. */
class KafkaRoundTripITCase {

  private final TestKafka kafka = TestServices.kafka();

  @Test
  void recordsComeBackWithKeysHeadersAndTimestamps() {
    String topic = TestKafka.uniqueTopic("roundtrip");
    kafka.createTopic(topic, 3);

    for (int i = 0; i < 30; i++) {
      ProducerRecord<byte[], byte[]> record =
          new ProducerRecord<>(
              topic,
              i % 3,
              1_700_000_000_000L + i,
              ("device-" + i % 5).getBytes(StandardCharsets.UTF_8),
              ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8));
      record.headers().add("origin", "test".getBytes(StandardCharsets.UTF_8));
      kafka.send(record);
    }

    List<ConsumerRecord<byte[], byte[]>> records = kafka.consume(topic, 30, Duration.ofSeconds(30));

    assertThat(records).hasSize(30);
    assertThat(records).extracting(ConsumerRecord::partition).containsOnly(0, 1, 2);
    assertThat(records)
        .allSatisfy(r -> assertThat(TestKafka.header(r, "origin")).isEqualTo("test"));
    assertThat(records)
        .extracting(r -> TestKafka.utf8(r.value()))
        .contains("{\"n\":0}", "{\"n\":29}");
    assertThat(records)
        .filteredOn(r -> TestKafka.utf8(r.value()).equals("{\"n\":7}"))
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.timestamp()).isEqualTo(1_700_000_000_007L);
              assertThat(TestKafka.utf8(r.key())).isEqualTo("device-2");
            });
  }

  @Test
  void topicsCanBeCompacted() throws Exception {
    String topic = TestKafka.uniqueTopic("compacted");
    kafka.createTopic(
        topic, 1, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));

    try (Admin admin = kafka.admin()) {
      TopicDescription description =
          admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      assertThat(description.partitions()).hasSize(1);
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      String policy =
          admin
              .describeConfigs(List.of(resource))
              .all()
              .get()
              .get(resource)
              .get(TopicConfig.CLEANUP_POLICY_CONFIG)
              .value();
      assertThat(policy).isEqualTo(TopicConfig.CLEANUP_POLICY_COMPACT);
    }
  }
}
