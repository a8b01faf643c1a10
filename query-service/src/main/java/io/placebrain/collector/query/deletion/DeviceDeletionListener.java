package io.placebrain.collector.query.deletion;

import io.placebrain.collector.control.ControlEvent;
import io.placebrain.collector.control.ControlEventParser;
import io.placebrain.collector.control.ControlTopics;
import io.placebrain.collector.storage.DeviceData;
import io.placebrain.collector.telemetry.KafkaRecord;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out device deletions from {@code devices.device.deleted} and {@code
 * devices.device.bulk-deleted} as soon as they are published, so deleted devices vanish from
 * answers at once. Offsets are committed only after the whole (chunked) deletion finished (at least
 * once; deleting is idempotent). A database outage pauses the listener and the same records are
 * retried.
 *
 * <p>The job deletes the same devices again once every reading it had in flight is committed, so
 * nothing of a deleted device reappears; see the README. A malformed event is logged with its
 * reason and skipped here: the job dead-letters the same record.
 */
public final class DeviceDeletionListener implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(DeviceDeletionListener.class);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final List<String> topics;
  private final ControlEventParser parser;
  private final DeviceDeleter deleter;
  private final Thread thread;
  private volatile boolean running = true;

  public DeviceDeletionListener(
      String bootstrapServers, String groupId, ControlTopics topics, DeviceDeleter deleter) {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    properties.put(ConsumerConfig.CLIENT_ID_CONFIG, groupId + "-deletions");
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    // A new group replays the compacted topics: deleting an already deleted device is a no-op.
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "500");
    this.consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.topics = List.of(topics.deviceDeleted(), topics.devicesBulkDeleted());
    this.parser = new ControlEventParser(topics);
    this.deleter = deleter;
    this.thread = new Thread(this::run, "device-deletions");
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  private void run() {
    Duration backoff = Duration.ofMillis(500);
    try {
      consumer.subscribe(topics);
      LOG.info("Listening for device deletions on {}", topics);
      while (running) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofSeconds(1));
        if (records.isEmpty()) {
          continue;
        }
        Set<UUID> devices = devicesIn(records);
        try {
          if (!devices.isEmpty()) {
            DeviceData.Deleted deleted = deleter.delete(devices);
            LOG.info(
                "Deleted {} device(s): {} alert(s), {} reading(s)",
                devices.size(),
                deleted.alerts(),
                deleted.readings());
          }
          consumer.commitSync();
          backoff = Duration.ofMillis(500);
        } catch (Exception e) {
          if (!running) {
            break;
          }
          LOG.warn(
              "Deleting {} device(s) failed ({}); retrying in {} ms",
              devices.size(),
              e.getMessage(),
              backoff.toMillis());
          rewind(records);
          sleep(backoff);
          backoff = backoff.multipliedBy(2);
          if (backoff.compareTo(MAX_BACKOFF) > 0) {
            backoff = MAX_BACKOFF;
          }
        }
      }
    } catch (WakeupException e) {
      // close() woke the consumer up to stop.
    } catch (RuntimeException e) {
      LOG.error("The device-deletion listener stopped", e);
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  private Set<UUID> devicesIn(ConsumerRecords<byte[], byte[]> records) {
    Set<UUID> devices = new LinkedHashSet<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      KafkaRecord kafkaRecord =
          new KafkaRecord(
              record.topic(),
              record.partition(),
              record.offset(),
              record.timestamp(),
              record.key(),
              record.value());
      parser.parse(
          kafkaRecord,
          (ControlEvent event) -> {
            for (String device : event.deletedDevices()) {
              devices.add(UUID.fromString(device));
            }
          },
          rejected -> {
            LOG.warn(
                "Ignored device event {}: {} ({})", kafkaRecord, rejected.detail, rejected.reason);
          });
    }
    return devices;
  }

  /** Goes back to the first record of each partition so the failed batch is read again. */
  private void rewind(ConsumerRecords<byte[], byte[]> records) {
    for (TopicPartition partition : records.partitions()) {
      consumer.seek(partition, records.records(partition).get(0).offset());
    }
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    consumer.wakeup();
    thread.join(10_000);
  }
}
