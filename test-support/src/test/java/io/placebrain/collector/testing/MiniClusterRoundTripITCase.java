package io.placebrain.collector.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.kafka.TestKafka;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A job on the shared MiniCluster reads the shared Kafka broker with Flink's Kafka connector in
 * parallel: the cluster, the connector and the broker work together.
 */
class MiniClusterRoundTripITCase {

  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  @Test
  void parallelJobReadsEveryRecordFromKafka() throws Exception {
    TestKafka kafka = TestServices.kafka();
    String topic = TestKafka.uniqueTopic("flink-roundtrip");
    kafka.createTopic(topic, 4);
    for (int i = 0; i < 100; i++) {
      kafka.send(topic, "key-" + i, String.valueOf(i));
    }

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    KafkaSource<String> source =
        KafkaSource.<String>builder()
            .setBootstrapServers(kafka.bootstrapServers())
            .setTopics(topic)
            .setGroupId("roundtrip")
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .setValueOnlyDeserializer(new SimpleStringSchema())
            .build();

    List<String> seen =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka")
            .map(new TagWithSubtask())
            .executeAndCollect(1_000);

    assertThat(env.getParallelism()).isEqualTo(FLINK.parallelism());
    assertThat(seen.stream().map(s -> s.split("@")[0]).map(Integer::parseInt).sorted())
        .containsExactlyElementsOf(IntStream.range(0, 100).boxed().collect(Collectors.toList()));
    assertThat(seen.stream().map(s -> s.split("@")[1]).distinct()).hasSize(FLINK.parallelism());
  }

  /** Tags each value with the subtask that handled it, to prove the work was spread. */
  private static final class TagWithSubtask extends RichMapFunction<String, String> {
    @Override
    public String map(String value) {
      return value + "@" + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }
  }
}
