package io.placebrain.collector.query.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.grpc.Context;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.postgres.TestDatabase;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A cancelled call's query cancel that arrives after the call gave its connection back never
 * reaches the query of the connection's next borrower (one pooled connection, real PostgreSQL).
 */
class LateCancelITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @Test
  void aLateCancelOfAFinishedCallLeavesTheNextBorrowersQueryAlone() throws Exception {
    TestDatabase db = DB.get();
    List<Runnable> heldCancels = new CopyOnWriteArrayList<>();
    Executor late = heldCancels::add; // the cancel is on its way, and arrives when released
    HikariDataSource pool =
        Database.pool(db.jdbcUrl(), db.user(), db.password(), 1, Duration.ofSeconds(5));
    try (Database database = new Database(pool, Duration.ofSeconds(30), late)) {
      Context.CancellableContext first = Context.current().withCancellation();
      first.call(
          () ->
              database.inTransaction(
                  connection -> {
                    first.cancel(null); // the client cancels while the call holds its connection
                    return 1;
                  }));
      assertThat(heldCancels).as("the cancellation listener was called").isNotEmpty();

      // The next call borrows the same (only) connection and runs a query that takes a while.
      CompletableFuture<Integer> second =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return database.inTransaction(
                      connection -> {
                        try (Statement statement = connection.createStatement();
                            ResultSet row =
                                statement.executeQuery("SELECT 7 FROM pg_sleep(3) AS late")) {
                          row.next();
                          return row.getInt(1);
                        }
                      });
                } catch (Exception e) {
                  throw new RuntimeException(e);
                }
              });
      awaitRunning(db, "pg_sleep(3) AS late");
      heldCancels.forEach(Runnable::run); // the late cancel arrives now

      assertThat(second.get(30, TimeUnit.SECONDS)).isEqualTo(7);
    }
  }

  /** Waits until PostgreSQL shows the query running. */
  private static void awaitRunning(TestDatabase db, String marker) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (db.queryLong(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%"
                + marker
                + "%' AND query NOT LIKE '%pg_stat_activity%'")
        == 0) {
      assertThat(System.nanoTime()).as("the query never started").isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
