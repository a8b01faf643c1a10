package io.placebrain.collector.query.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.grpc.Context;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;

/**
 * A cancelled call's query cancel that is still on its way when the call finishes never reaches the
 * query of the connection's next borrower (one pooled connection, real PostgreSQL): the call keeps
 * its connection until the cancel request is out.
 */
class LateCancelITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @Test
  void aCancelInFlightWhenTheCallEndsLeavesTheNextBorrowersQueryAlone() throws Exception {
    TestDatabase db = DB.get();
    CountDownLatch workRunning = new CountDownLatch(1);
    CountDownLatch cancelOnItsWay = new CountDownLatch(1);
    CountDownLatch cancelArrives = new CountDownLatch(1);
    ExecutorService threads = Executors.newCachedThreadPool();
    HikariDataSource pool =
        Database.pool(db.jdbcUrl(), db.user(), db.password(), 1, Duration.ofSeconds(30));
    try (Database database =
        new Database(
            pool,
            Duration.ofSeconds(30),
            threads,
            connection -> {
              // A slow cancel round trip: the request leaves only when the test says so.
              PGConnection target = connection.unwrap(PGConnection.class);
              cancelOnItsWay.countDown();
              awaitQuietly(cancelArrives);
              target.cancelQuery();
            })) {
      Context.CancellableContext cancelled = Context.ROOT.withCancellation();
      CompletableFuture<Integer> first =
          CompletableFuture.supplyAsync(
              () ->
                  call(
                      cancelled,
                      database,
                      connection -> {
                        workRunning.countDown();
                        awaitQuietly(cancelOnItsWay); // the call ends with its cancel under way
                        return 1;
                      }),
              threads);
      workRunning.await(30, TimeUnit.SECONDS);
      cancelled.cancel(null); // the client cancels, as gRPC's transport would
      cancelOnItsWay.await(30, TimeUnit.SECONDS);

      CompletableFuture<Integer> next =
          CompletableFuture.supplyAsync(
              () ->
                  call(
                      Context.ROOT,
                      database,
                      connection -> {
                        try (Statement statement = connection.createStatement();
                            ResultSet row =
                                statement.executeQuery("SELECT 7 FROM pg_sleep(2) AS next")) {
                          row.next();
                          return row.getInt(1);
                        }
                      }),
              threads);
      // The next borrower either waits for the connection or already runs its query.
      awaitOneOf(db, pool, "pg_sleep(2) AS next");
      cancelArrives.countDown();

      assertThat(next.get(30, TimeUnit.SECONDS)).isEqualTo(7);
      assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo(1);
    } finally {
      threads.shutdownNow();
    }
  }

  private static int call(Context context, Database database, Database.Work<Integer> work) {
    try {
      return context.call(() -> database.inTransaction(work));
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  private static void awaitOneOf(TestDatabase db, HikariDataSource pool, String marker)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (pool.getHikariPoolMXBean().getThreadsAwaitingConnection() == 0
        && db.queryLong(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%"
                    + marker
                    + "%' AND query NOT LIKE '%pg_stat_activity%'")
            == 0) {
      assertThat(System.nanoTime()).as("the next borrower never came").isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
