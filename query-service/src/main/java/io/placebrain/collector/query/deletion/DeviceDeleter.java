package io.placebrain.collector.query.deletion;

import io.placebrain.collector.storage.DeviceData;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes devices' alerts, then readings, in chunks of at most {@code deletion.chunk-rows} rows,
 * each chunk its own transaction under {@code deletion.chunk-timeout}. A deletion therefore
 * finishes however much data a device has; an interrupted one (outage, shutdown) keeps what it
 * committed and a rerun continues from there; rerunning a finished one deletes nothing. Alerts go
 * first, so an alert never outlives the readings it points at.
 *
 * <p>The same code serves the Kafka listener (which waits for it) and DeleteReadings (which runs it
 * in the background and waits at most its budget; a second call for the same devices joins the
 * running deletion instead of starting another).
 */
public final class DeviceDeleter implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(DeviceDeleter.class);

  /** A unit of work inside one chunk's transaction. */
  @FunctionalInterface
  private interface ChunkWork<T> {
    T run(Connection connection) throws SQLException;
  }

  private final DataSource pool;
  private final int chunkRows;
  private final Duration chunkTimeout;
  private final ExecutorService background;
  private final Map<Set<UUID>, CompletableFuture<DeviceData.Deleted>> running =
      new ConcurrentHashMap<>();

  public DeviceDeleter(DataSource pool, int chunkRows, Duration chunkTimeout) {
    this.pool = pool;
    this.chunkRows = chunkRows;
    this.chunkTimeout = chunkTimeout;
    this.background =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "device-deletion");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Deletes everything of the devices, chunk by chunk; returns once all of it is gone. */
  public DeviceData.Deleted delete(Collection<UUID> devices) throws SQLException {
    long alerts = 0;
    long deleted;
    do {
      deleted = inChunk(connection -> DeviceData.deleteAlertsChunk(connection, devices, chunkRows));
      alerts += deleted;
    } while (deleted >= chunkRows);

    long readings = 0;
    for (UUID device : devices) {
      String key = inChunk(connection -> DeviceData.nextKey(connection, device, null));
      while (key != null) {
        String current = key;
        OffsetDateTime below = null;
        do {
          OffsetDateTime bound = below;
          DeviceData.Chunk chunk =
              inChunk(
                  connection ->
                      DeviceData.deleteReadingsChunk(
                          connection, device, current, bound, chunkRows));
          readings += chunk.deleted();
          below = chunk.nextBelow();
          if (Thread.currentThread().isInterrupted()) {
            throw new SQLException("device deletion interrupted; a rerun continues it");
          }
        } while (below != null);
        key = inChunk(connection -> DeviceData.nextKey(connection, device, current));
      }
    }
    return new DeviceData.Deleted(alerts, readings);
  }

  /**
   * Starts deleting the devices in the background, or joins the running deletion of the same
   * devices. The future completes when all of it is gone; it fails with the deletion's error, after
   * which a new call continues where this one stopped.
   */
  public CompletableFuture<DeviceData.Deleted> deleteInBackground(Collection<UUID> devices) {
    Set<UUID> key = Set.copyOf(new LinkedHashSet<>(devices));
    CompletableFuture<DeviceData.Deleted> created = new CompletableFuture<>();
    CompletableFuture<DeviceData.Deleted> existing = running.putIfAbsent(key, created);
    if (existing != null) {
      return existing;
    }
    try {
      background.execute(
          () -> {
            DeviceData.Deleted result = null;
            Throwable error = null;
            try {
              result = delete(devices);
            } catch (Throwable e) {
              error = e;
            }
            // Leave the registry first: a call arriving now starts afresh (and finds little).
            running.remove(key, created);
            if (error == null) {
              created.complete(result);
            } else {
              created.completeExceptionally(error);
            }
          });
    } catch (RejectedExecutionException e) {
      running.remove(key, created);
      created.completeExceptionally(new SQLException("the service is shutting down", "57P01", e));
    }
    return created;
  }

  private <T> T inChunk(ChunkWork<T> work) throws SQLException {
    try (Connection connection = pool.getConnection()) {
      connection.setAutoCommit(false);
      try {
        try (PreparedStatement timeout =
            connection.prepareStatement("SELECT set_config('statement_timeout', ?, true)")) {
          timeout.setString(1, Long.toString(Math.max(1, chunkTimeout.toMillis())));
          timeout.execute();
        }
        T result = work.run(connection);
        connection.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        try {
          connection.rollback();
        } catch (SQLException rollback) {
          LOG.debug("Rollback failed; the pool discards the connection", rollback);
        }
        throw e;
      }
    }
  }

  /** Stops background deletions; what they committed stays, and a rerun continues them. */
  @Override
  public void close() {
    background.shutdownNow();
  }
}
