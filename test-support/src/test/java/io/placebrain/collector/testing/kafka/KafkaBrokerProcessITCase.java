package io.placebrain.collector.testing.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * A broker process killed with SIGKILL comes back on the same port with everything acknowledged.
 */
class KafkaBrokerProcessITCase {

  @Test
  void aKilledBrokerRestartsOnItsPortWithItsRecords() throws Exception {
    KafkaBrokerProcess broker = KafkaBrokerProcess.launch();
    try (TestKafka kafka = new TestKafka(broker)) {
      String topic = TestKafka.uniqueTopic("restart");
      kafka.createTopic(topic, 2);
      for (int i = 0; i < 10; i++) {
        kafka.send(topic, "k" + i, "before-" + i);
      }
      String address = broker.bootstrapServers();

      broker.kill();
      broker.start();

      assertThat(broker.bootstrapServers()).isEqualTo(address);
      // The same producer reconnects: the broker is where it was.
      for (int i = 0; i < 10; i++) {
        kafka.send(topic, "k" + i, "after-" + i);
      }
      List<String> values =
          kafka.consumeAll(topic, Duration.ofSeconds(60)).stream()
              .map(ConsumerRecord::value)
              .map(TestKafka::utf8)
              .collect(Collectors.toList());
      assertThat(values).hasSize(20);
      for (int i = 0; i < 10; i++) {
        assertThat(values).containsOnlyOnce("before-" + i, "after-" + i);
      }
    }
  }
}
