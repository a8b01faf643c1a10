package io.placebrain.collector.query.alerts;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A transactional outbox for what a user's resolve publishes: the MQTT event, and the resolve
 * announced to the job on Kafka (one outbox, table and drainer each). A message is written in the
 * same transaction as the resolved row, so either both exist or neither; a drainer thread then
 * publishes it and deletes it once the broker acknowledged. The table and the broker therefore
 * cannot disagree for longer than the broker is unreachable: a broker outage, a timeout or a crash
 * of the service between commit and publish only delays the message (the next drainer, after a
 * restart, publishes what is left). Delivery is at least once, with the alert's id for consumers to
 * drop a duplicate. Several service instances may drain the same table: rows are claimed with
 * {@code SKIP LOCKED}. The tables belong to the schema ({@code CollectorSchema}).
 */
public final class AlertOutbox implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(AlertOutbox.class);

  /** Where an outbox's messages go. */
  public interface Channel {

    /** Whether this channel is configured; off, nothing is queued for it. */
    boolean isEnabled();

    /** Returns once the broker acknowledged; throws otherwise. {@code key} may be null. */
    void publish(String topic, byte[] key, byte[] payload) throws Exception;
  }

  private static final int BATCH = 50;
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

  private final DataSource pool;
  private final String table;
  private final boolean keyed;
  private final Channel channel;
  private final Semaphore wakeUp = new Semaphore(0);
  private final Map<Long, CompletableFuture<Void>> waiting = new ConcurrentHashMap<>();
  private final Thread thread;
  private volatile boolean running = true;

  /**
   * @param table one of the schema's outbox tables
   * @param keyed whether the table has a {@code message_key} column (Kafka)
   */
  public AlertOutbox(DataSource pool, String table, boolean keyed, Channel channel) {
    this.pool = pool;
    this.table = table;
    this.keyed = keyed;
    this.channel = channel;
    this.thread = new Thread(this::drain, "outbox-" + table);
    this.thread.setDaemon(true);
  }

  /** Whether messages are published at all (their broker configured). */
  public boolean isEnabled() {
    return channel.isEnabled();
  }

  public void start() {
    if (isEnabled()) {
      thread.start();
    }
  }

  /** Adds a message in the caller's transaction; returns its sequence number. */
  public long add(Connection connection, UUID alertId, String topic, byte[] key, byte[] payload)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "INSERT INTO "
                + table
                + (keyed
                    ? " (alert_id, topic, payload, message_key) VALUES (?, ?, ?, ?)"
                    : " (alert_id, topic, payload) VALUES (?, ?, ?)")
                + " RETURNING seq")) {
      statement.setObject(1, alertId);
      statement.setString(2, topic);
      statement.setBytes(3, payload);
      if (keyed) {
        statement.setBytes(4, key);
      }
      try (ResultSet row = statement.executeQuery()) {
        row.next();
        return row.getLong(1);
      }
    }
  }

  /**
   * After the event's transaction committed: wakes the drainer and waits up to {@code wait} for the
   * broker's acknowledgement. Returns whether it came; when not, the event stays queued.
   */
  public boolean awaitPublished(long seq, Duration wait) {
    CompletableFuture<Void> published =
        waiting.computeIfAbsent(seq, s -> new CompletableFuture<>());
    try {
      if (!isQueued(seq)) {
        return true;
      }
      wakeUp.release();
      published.get(Math.max(1, wait.toMillis()), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException | ExecutionException | SQLException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      waiting.remove(seq);
    }
  }

  /** Events not yet acknowledged by the broker. */
  public long queued() throws SQLException {
    try (Connection connection = pool.getConnection();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SELECT count(*) FROM " + table)) {
      row.next();
      long count = row.getLong(1);
      connection.commit();
      return count;
    }
  }

  private boolean isQueued(long seq) throws SQLException {
    try (Connection connection = pool.getConnection();
        PreparedStatement statement =
            connection.prepareStatement("SELECT 1 FROM " + table + " WHERE seq = ?")) {
      statement.setLong(1, seq);
      try (ResultSet row = statement.executeQuery()) {
        boolean queued = row.next();
        connection.commit();
        return queued;
      }
    }
  }

  private void drain() {
    Duration backoff = Duration.ofMillis(250);
    while (running) {
      try {
        boolean full = drainBatch();
        backoff = Duration.ofMillis(250);
        if (!full) {
          // Woken at once by a resolve; the poll picks up what another instance or a crash left.
          wakeUp.tryAcquire(1, TimeUnit.SECONDS);
          wakeUp.drainPermits();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        if (!running) {
          return;
        }
        LOG.warn(
            "Publishing queued messages of {} failed ({}); retrying in {} ms",
            table,
            e.getMessage(),
            backoff.toMillis());
        try {
          wakeUp.tryAcquire(backoff.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return;
        }
        backoff =
            backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
                ? MAX_BACKOFF
                : backoff.multipliedBy(2);
      }
    }
  }

  /** Publishes one batch in seq order; returns whether it was full (more may be waiting). */
  private boolean drainBatch() throws Exception {
    try (Connection connection = pool.getConnection()) {
      connection.setAutoCommit(false);
      List<Long> published = new ArrayList<>();
      int claimed = 0;
      try {
        try (PreparedStatement select =
                connection.prepareStatement(
                    "SELECT seq, topic, payload"
                        + (keyed ? ", message_key" : "")
                        + " FROM "
                        + table
                        + " ORDER BY seq LIMIT "
                        + BATCH
                        + " FOR UPDATE SKIP LOCKED");
            ResultSet rows = select.executeQuery()) {
          List<Object[]> messages = new ArrayList<>();
          while (rows.next()) {
            messages.add(
                new Object[] {
                  rows.getLong(1),
                  rows.getString(2),
                  rows.getBytes(3),
                  keyed ? rows.getBytes(4) : null
                });
          }
          claimed = messages.size();
          for (Object[] message : messages) {
            channel.publish((String) message[1], (byte[]) message[3], (byte[]) message[2]);
            published.add((Long) message[0]);
          }
        }
      } finally {
        // What the broker acknowledged leaves the outbox even when a later event failed.
        if (!published.isEmpty()) {
          Array seqs = connection.createArrayOf("bigint", published.toArray());
          try (PreparedStatement delete =
              connection.prepareStatement("DELETE FROM " + table + " WHERE seq = ANY (?)")) {
            delete.setArray(1, seqs);
            delete.executeUpdate();
          }
        }
        connection.commit();
        for (Long seq : published) {
          CompletableFuture<Void> waiter = waiting.get(seq);
          if (waiter != null) {
            waiter.complete(null);
          }
        }
      }
      return claimed == BATCH;
    }
  }

  @Override
  public void close() {
    running = false;
    wakeUp.release();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
