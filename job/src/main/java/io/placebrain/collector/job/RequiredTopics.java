package io.placebrain.collector.job;

import java.util.ArrayList;
import java.util.List;

/**
 * Every topic the job reads or writes, which must exist before it starts: the brokers of the
 * platform do not create topics, and a source of a missing topic fails and restarts without end.
 * The start-up checks look for them.
 */
public final class RequiredTopics {

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
}
