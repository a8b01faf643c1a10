package io.placebrain.collector.query.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each call's SQL in one transaction on a pooled connection, bounded by the call: the
 * statement timeout is the client's remaining deadline (at most {@code query.timeout}), and a call
 * the client cancels cancels its query. Database failures become gRPC statuses that say what
 * happened.
 */
public final class Database implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Database.class);

  /** Work done with one connection inside the call's transaction. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection connection) throws SQLException, StatusException;
  }

  /** Sends a connection's cancel request; tests slow it down. */
  @FunctionalInterface
  interface QueryCanceller {
    void cancel(Connection connection) throws SQLException;
  }

  private final HikariDataSource pool;
  private final Duration queryTimeout;
  private final Executor cancelExecutor;
  private final QueryCanceller canceller;

  /** Cancels run on their own daemon threads: a cancel request is a network round trip. */
  public Database(HikariDataSource pool, Duration queryTimeout) {
    this(
        pool,
        queryTimeout,
        Executors.newCachedThreadPool(
            runnable -> {
              Thread thread = new Thread(runnable, "query-cancel");
              thread.setDaemon(true);
              return thread;
            }));
  }

  /** With the executor that runs cancellations; tests pass one that runs them late. */
  public Database(HikariDataSource pool, Duration queryTimeout, Executor cancelExecutor) {
    this(
        pool,
        queryTimeout,
        cancelExecutor,
        connection -> connection.unwrap(PGConnection.class).cancelQuery());
  }

  Database(
      HikariDataSource pool,
      Duration queryTimeout,
      Executor cancelExecutor,
      QueryCanceller canceller) {
    this.pool = pool;
    this.queryTimeout = queryTimeout;
    this.cancelExecutor = cancelExecutor;
    this.canceller = canceller;
  }

  /**
   * Cancels the query of one call, and only while that call still holds its connection: once the
   * call is done with it, a cancellation that arrives late (its listener was already on its way)
   * does nothing, instead of cancelling whatever the connection's next borrower runs. The cancel
   * request is sent while the lock is held, so the call cannot hand the connection back meanwhile.
   */
  private static final class CancelGuard implements Context.CancellationListener {
    private final Connection connection;
    private final QueryCanceller canceller;
    private boolean open = true;

    CancelGuard(Connection connection, QueryCanceller canceller) {
      this.connection = connection;
      this.canceller = canceller;
    }

    @Override
    public synchronized void cancelled(Context context) {
      if (open) {
        try {
          canceller.cancel(connection);
        } catch (SQLException e) {
          LOG.debug("Could not cancel the query of a cancelled call", e);
        }
      }
    }

    synchronized void close() {
      open = false;
    }
  }

  /**
   * A pool that does not connect until first used, so the service can start before the database.
   */
  public static HikariDataSource pool(
      String url, String user, String password, int size, Duration connectTimeout) {
    HikariConfig config = new HikariConfig();
    config.setPoolName("collector-query");
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(Math.min(2, size));
    config.setConnectionTimeout(Math.max(250, connectTimeout.toMillis()));
    config.setInitializationFailTimeout(-1);
    config.setAutoCommit(false);
    config.addDataSourceProperty("ApplicationName", "collector-query-service");
    return new HikariDataSource(config);
  }

  public HikariDataSource pool() {
    return pool;
  }

  /** Runs the work in a transaction and commits it; everything else rolls back. */
  public <T> T inTransaction(Work<T> work) throws StatusException {
    long timeoutMillis = timeoutMillis();
    try (Connection connection = pool.getConnection()) {
      CancelGuard cancelQuery = new CancelGuard(connection, canceller);
      Context.current().addListener(cancelQuery, cancelExecutor);
      try {
        setStatementTimeout(connection, timeoutMillis);
        T result = work.run(connection);
        connection.commit();
        return result;
      } catch (SQLException | StatusException | RuntimeException e) {
        rollbackQuietly(connection);
        throw e;
      } finally {
        // Before the connection goes back to the pool.
        cancelQuery.close();
        Context.current().removeListener(cancelQuery);
      }
    } catch (SQLException e) {
      throw toStatus(e);
    }
  }

  /** A cheap round trip, for health checks. */
  public boolean isReachable() {
    try (Connection connection = pool.getConnection()) {
      boolean valid = connection.isValid(2);
      connection.rollback();
      return valid;
    } catch (SQLException e) {
      return false;
    }
  }

  private long timeoutMillis() throws StatusException {
    long millis = queryTimeout.toMillis();
    Deadline deadline = Context.current().getDeadline();
    if (deadline != null) {
      long remaining = deadline.timeRemaining(TimeUnit.MILLISECONDS);
      if (remaining <= 0) {
        throw Status.DEADLINE_EXCEEDED
            .withDescription("the deadline passed before the query started")
            .asException();
      }
      millis = Math.min(millis, remaining);
    }
    return Math.max(1, millis);
  }

  private static void setStatementTimeout(Connection connection, long millis) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT set_config('statement_timeout', ?, true)")) {
      statement.setString(1, Long.toString(millis));
      statement.execute();
    }
  }

  private static void rollbackQuietly(Connection connection) {
    try {
      connection.rollback();
    } catch (SQLException e) {
      LOG.debug("Rollback failed; the pool discards the connection", e);
    }
  }

  /** The gRPC status of a database failure. */
  public static StatusException toStatus(SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    if ("57014".equals(state)) {
      boolean deadlinePassed =
          Context.current().getDeadline() != null && Context.current().getDeadline().isExpired();
      if (Context.current().isCancelled() && !deadlinePassed) {
        return Status.CANCELLED.withDescription("the call was cancelled").asException();
      }
      return Status.DEADLINE_EXCEEDED
          .withDescription("the query did not finish within the deadline or query.timeout")
          .withCause(e)
          .asException();
    }
    if (e instanceof SQLTransientConnectionException
        || state.startsWith("08")
        || state.startsWith("57P")
        || state.startsWith("53")) {
      return Status.UNAVAILABLE
          .withDescription("the database is unavailable: " + e.getMessage())
          .withCause(e)
          .asException();
    }
    LOG.error("Query failed (SQLSTATE {})", state, e);
    return Status.INTERNAL
        .withDescription("the query failed: " + e.getMessage())
        .withCause(e)
        .asException();
  }

  @Override
  public void close() {
    pool.close();
  }
}
