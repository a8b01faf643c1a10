package io.placebrain.collector.job;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks before the job starts that every topic it reads or writes exists: the brokers of the
 * platform do not create topics, and a source of a missing topic fails and restarts without end.
 */
public final class RequiredTopics {

  private static final Logger LOG = LoggerFactory.getLogger(RequiredTopics.class);

  private RequiredTopics() {}

  /** The job's topics, as the README's topic table lists them. */
  public static List<String> of(CollectorJobConfig config) {
    List<String> topics = new ArrayList<>();
    topics.add(config.telemetryTopic());
    topics.addAll(config.controlTopics().all());
    topics.add(config.deadLetterTopic());
    topics.add(config.controlDeadLetterTopic());
    return topics;
  }

  /**
   * Throws naming the missing topics. Kafka not answering within {@code timeout} is only logged:
   * the sources wait for it like after any outage.
   */
  public static void check(String bootstrapServers, List<String> topics, Duration timeout)
      throws InterruptedException {
    Set<String> existing;
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                (int) timeout.toMillis()))) {
      existing = admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn(
          "Could not list the topics of Kafka {} ({}); starting without checking them",
          bootstrapServers,
          e.getMessage());
      return;
    }
    List<String> missing = topics.stream().filter(t -> !existing.contains(t)).toList();
    if (!missing.isEmpty()) {
      throw new IllegalStateException(
          "Kafka "
              + bootstrapServers
              + " lacks the topic(s) "
              + String.join(", ", missing)
              + " the job reads or writes; create them as the README's topic table says"
              + " (devices.* and collector.alerts.resolved compacted), or name existing ones"
              + " with the kafka.*-topic settings");
    }
  }
}
