package io.placebrain.collector.mqtt;

import java.util.List;

/**
 * The MQTT sink writer's checkpointed state: messages not yet acknowledged by the broker, oldest
 * first. They are sent again after a restart.
 */
public record PendingAlerts(List<Message> messages) {

  /** One message to publish. */
  public record Message(String topic, byte[] payload) {}
}
