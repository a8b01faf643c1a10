package io.placebrain.collector.query.alerts;

import io.grpc.StatusException;
import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.alerts.AlertJson;
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
 * A transactional outbox for the events a user's resolve publishes. The event is written in the
 * same transaction as the resolved row, so either both exist or neither; a drainer thread then
 * publishes it (QoS 1) and deletes it once the broker acknowledged. The table and MQTT therefore
 * cannot disagree for longer than the broker is unreachable: a broker outage, a timeout or a crash
 * of the service between commit and publish only delays the event (the next drainer, after a
 * restart, publishes what is left). Delivery is at least once, with the alert's id for consumers to
 * drop a duplicate. Several service instances may drain the same table: rows are claimed with
 * {@code SKIP LOCKED}.
 */
public final class AlertOutbox implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(AlertOutbox.class);

  /** The outbox table, owned by the query service and created by it on start. */
  public static final String TABLE = "alert_events_outbox";

  private static final int BATCH = 50;
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

  private final DataSource pool;
  private final AlertEventPublisher publisher;
  private final Semaphore wakeUp = new Semaphore(0);
  private final Map<Long, CompletableFuture<Void>> waiting = new ConcurrentHashMap<>();
  private final Thread thread;
  private volatile boolean running = true;

  public AlertOutbox(DataSource pool, AlertEventPublisher publisher) {
    this.pool = pool;
    this.publisher = publisher;
    this.thread = new Thread(this::drain, "alert-outbox");
    this.thread.setDaemon(true);
  }

  /** Creates the table when missing; idempotent. */
  public static void migrate(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE IF NOT EXISTS "
              + TABLE
              + " (seq bigserial PRIMARY KEY, alert_id uuid NOT NULL, topic text NOT NULL,"
              + " payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())");
    }
  }

  /** Whether events are published at all (MQTT on). */
  public boolean isEnabled() {
    return publisher.isEnabled();
  }

  public void start() {
    if (isEnabled()) {
      thread.start();
    }
  }

  /** Adds the event in the caller's transaction; returns its sequence number. */
  public long add(Connection connection, AlertEvent event) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "INSERT INTO "
                + TABLE
                + " (alert_id, topic, payload) VALUES (?, ?, ?) RETURNING seq")) {
      statement.setObject(1, java.util.UUID.fromString(event.id));
      statement.setString(2, AlertJson.topic(event));
      statement.setBytes(3, AlertJson.toJson(event));
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
        ResultSet row = statement.executeQuery("SELECT count(*) FROM " + TABLE)) {
      row.next();
      long count = row.getLong(1);
      connection.commit();
      return count;
    }
  }

  private boolean isQueued(long seq) throws SQLException {
    try (Connection connection = pool.getConnection();
        PreparedStatement statement =
            connection.prepareStatement("SELECT 1 FROM " + TABLE + " WHERE seq = ?")) {
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
            "Publishing queued alert events failed ({}); retrying in {} ms",
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
  private boolean drainBatch() throws SQLException, StatusException {
    try (Connection connection = pool.getConnection()) {
      connection.setAutoCommit(false);
      List<Long> published = new ArrayList<>();
      int claimed = 0;
      try {
        try (PreparedStatement select =
                connection.prepareStatement(
                    "SELECT seq, topic, payload FROM "
                        + TABLE
                        + " ORDER BY seq LIMIT "
                        + BATCH
                        + " FOR UPDATE SKIP LOCKED");
            ResultSet rows = select.executeQuery()) {
          List<Object[]> events = new ArrayList<>();
          while (rows.next()) {
            events.add(new Object[] {rows.getLong(1), rows.getString(2), rows.getBytes(3)});
          }
          claimed = events.size();
          for (Object[] event : events) {
            publisher.publish((String) event[1], (byte[]) event[2]);
            published.add((Long) event[0]);
          }
        }
      } finally {
        // What the broker acknowledged leaves the outbox even when a later event failed.
        if (!published.isEmpty()) {
          Array seqs = connection.createArrayOf("bigint", published.toArray());
          try (PreparedStatement delete =
              connection.prepareStatement("DELETE FROM " + TABLE + " WHERE seq = ANY (?)")) {
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
