package io.placebrain.collector.testing.kafka;

import org.testcontainers.kafka.KafkaContainer;

/** Kafka in a Docker container, for machines with a Docker engine. */
public final class ContainerKafkaBroker implements KafkaBroker {

  static final String IMAGE = "apache/kafka:4.2.0";

  private final KafkaContainer container;

  private ContainerKafkaBroker(KafkaContainer container) {
    this.container = container;
  }

  public static ContainerKafkaBroker launch() {
    KafkaContainer container =
        new KafkaContainer(IMAGE)
            .withEnv("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
            .withEnv("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    container.start();
    return new ContainerKafkaBroker(container);
  }

  @Override
  public String bootstrapServers() {
    return container.getBootstrapServers();
  }

  @Override
  public void close() {
    container.stop();
  }

  @Override
  public String toString() {
    return "Kafka container " + IMAGE + " at " + bootstrapServers();
  }
}
