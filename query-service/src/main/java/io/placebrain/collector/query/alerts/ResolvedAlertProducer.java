package io.placebrain.collector.query.alerts;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Announces users' resolves to the job on the compacted resolved-alerts topic, so the job closes
 * the alert without publishing a second {@code resolved} event. Idempotent producer, acknowledged
 * by all in-sync replicas; the outbox retries until the broker acknowledged.
 */
public final class ResolvedAlertProducer implements AlertOutbox.Channel, AutoCloseable {

  private final Producer<byte[], byte[]> producer;
  private final String bootstrapServers;
  private final Duration ackTimeout;

  /** {@code bootstrapServers} may be null: Kafka is off and nothing is announced. */
  public ResolvedAlertProducer(String bootstrapServers, String clientId, Duration ackTimeout) {
    this.bootstrapServers = bootstrapServers;
    this.ackTimeout = ackTimeout;
    if (bootstrapServers == null) {
      this.producer = null;
      return;
    }
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    // A missing topic or an unreachable broker fails a publish after this long (then retried by
    // the outbox) rather than blocking the drainer for the default minute.
    long blockMillis = Math.max(1_000, ackTimeout.toMillis());
    properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(blockMillis));
    properties.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(blockMillis));
    properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(blockMillis * 2));
    properties.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    this.producer =
        new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
  }

  @Override
  public boolean isEnabled() {
    return producer != null;
  }

  @Override
  public void publish(String topic, byte[] key, byte[] payload) throws Exception {
    try {
      producer
          .send(new ProducerRecord<>(topic, key, payload))
          .get(ackTimeout.toMillis() * 2 + 1_000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof org.apache.kafka.common.errors.TimeoutException
          && String.valueOf(cause.getMessage()).contains("not present in metadata")) {
        throw new IllegalStateException(
            "Kafka topic "
                + topic
                + " does not exist on "
                + bootstrapServers
                + ": create it with cleanup.policy=compact (README, Topics); until then the job"
                + " is not told of resolves",
            cause);
      }
      throw e;
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "Kafka " + bootstrapServers + " did not acknowledge a resolve on " + topic + " in time",
          e);
    }
  }

  @Override
  public void close() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
  }
}
