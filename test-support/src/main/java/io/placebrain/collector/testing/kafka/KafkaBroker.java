package io.placebrain.collector.testing.kafka;

/** A running Kafka broker that tests reach through its bootstrap servers. */
public interface KafkaBroker extends AutoCloseable {

  String bootstrapServers();
}
