package io.placebrain.collector.local;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Prints one line every few seconds: readings stored per second, rows in total, alerts created and
 * resolved, records dead-lettered. Counts come from where the data ends up (the tables, the
 * dead-letter topics read as committed), not from the job's own bookkeeping.
 */
final class StatusLine implements AutoCloseable {

  private static final Duration RATE_WINDOW = Duration.ofSeconds(30);

  /** One reading of the counters. */
  record Counts(long readings, long alerts, long resolved, long deadLettered) {}

  private final String databaseUrl;
  private final Properties credentials = new Properties();
  private final KafkaConsumer<byte[], byte[]> deadLetters;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "status-line");
            thread.setDaemon(true);
            return thread;
          });
  private Connection connection;
  private long deadLettered;

  /** Recent (nanoTime, rows) samples: rows arrive once per checkpoint, so the rate is averaged. */
  private final Deque<long[]> samples = new ArrayDeque<>();

  StatusLine(
      String databaseUrl,
      String user,
      String password,
      String bootstrapServers,
      List<String> deadLetterTopics) {
    this.databaseUrl = databaseUrl;
    if (user != null) {
      credentials.setProperty("user", user);
    }
    if (password != null) {
      credentials.setProperty("password", password);
    }
    this.deadLetters =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.CLIENT_ID_CONFIG, "collector-local-status"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    List<TopicPartition> partitions = new ArrayList<>();
    for (String topic : deadLetterTopics) {
      deadLetters
          .partitionsFor(topic, Duration.ofSeconds(30))
          .forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
    }
    deadLetters.assign(partitions);
    deadLetters.seekToBeginning(partitions);
  }

  void start(Duration interval, PrintStream out) {
    timer.scheduleWithFixedDelay(
        () -> out.println(line()), interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  synchronized Counts counts() throws SQLException {
    deadLettered += deadLetters.poll(Duration.ofMillis(200)).count();
    if (connection == null || !connection.isValid(2)) {
      connection = DriverManager.getConnection(databaseUrl, credentials);
    }
    try (Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT (SELECT count(*) FROM readings),"
                    + " (SELECT count(*) FROM alerts),"
                    + " (SELECT count(*) FROM alerts WHERE status = 'resolved')")) {
      row.next();
      return new Counts(row.getLong(1), row.getLong(2), row.getLong(3), deadLettered);
    }
  }

  private synchronized String line() {
    String time = LocalTime.now().truncatedTo(ChronoUnit.SECONDS).toString();
    try {
      Counts counts = counts();
      long now = System.nanoTime();
      samples.addLast(new long[] {now, counts.readings()});
      while (samples.size() > 2 && now - samples.peekFirst()[0] > RATE_WINDOW.toNanos()) {
        samples.removeFirst();
      }
      long[] oldest = samples.peekFirst();
      String rate =
          samples.size() < 2
              ? "-"
              : String.format(
                  Locale.ROOT,
                  "%.1f",
                  (counts.readings() - oldest[1]) * 1e9 / Math.max(1, now - oldest[0]));
      return String.format(
          Locale.ROOT,
          "[%s] stored %s readings/s · %,d rows · alerts %,d created, %,d resolved · %,d dead-lettered",
          time,
          rate,
          counts.readings(),
          counts.alerts(),
          counts.resolved(),
          counts.deadLettered());
    } catch (SQLException | RuntimeException e) {
      return "[" + time + "] status unavailable: " + e.getMessage();
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      deadLetters.close(Duration.ofSeconds(2));
      if (connection != null) {
        try {
          connection.close();
        } catch (SQLException ignored) {
          // Closing at shutdown.
        }
      }
    }
  }
}
