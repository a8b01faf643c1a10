package io.placebrain.collector.local;

import io.placebrain.collector.job.CollectorJobConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;

/** Creates the platform's topics that do not exist yet, shaped as the specification says. */
final class Topics {

  private Topics() {}

  static void createMissing(String bootstrapServers, CollectorJobConfig config) throws Exception {
    Map<String, String> compacted = Map.of("cleanup.policy", "compact");
    List<NewTopic> wanted = new ArrayList<>();
    wanted.add(
        new NewTopic(config.telemetryTopic(), 6, (short) 1)
            .configs(Map.of("cleanup.policy", "delete", "retention.ms", "604800000")));
    for (String topic : config.controlTopics().all()) {
      wanted.add(new NewTopic(topic, 1, (short) 1).configs(compacted));
    }
    wanted.add(new NewTopic(config.deadLetterTopic(), 1, (short) 1));
    wanted.add(new NewTopic(config.controlDeadLetterTopic(), 1, (short) 1));
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> missing =
          wanted.stream().filter(topic -> !existing.contains(topic.name())).toList();
      if (!missing.isEmpty()) {
        admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
      }
    }
  }
}
