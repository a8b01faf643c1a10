package io.placebrain.collector.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.placebrain.collector.testing.postgres.TestDatabase;
import io.placebrain.collector.testing.postgres.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The shared PostgreSQL server: a database per class, rows round-trip, outages can be staged. */
class PostgresRoundTripITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @Test
  void rowsRoundTripInTheClassDatabase() throws Exception {
    TestDatabase db = DB.get();
    db.execute("CREATE TABLE probe (id int primary key, note text)");
    db.execute("INSERT INTO probe VALUES (1, 'one'), (2, 'two')");

    assertThat(db.queryLong("SELECT count(*) FROM probe")).isEqualTo(2);
    assertThat(db.queryLong("SELECT id FROM probe WHERE note = 'two'")).isEqualTo(2);
    try (Connection connection = db.connect()) {
      assertThat(connection.getCatalog()).isEqualTo(db.name());
    }
  }

  @Test
  void eachDatabaseIsDroppedAfterUse() throws Exception {
    TestPostgres server = TestServices.postgres();
    TestDatabase other = server.createDatabase();
    other.execute("CREATE TABLE probe (id int)");
    other.drop();

    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM pg_database WHERE datname = '" + other.name() + "'"))
        .isZero();
  }

  @Test
  void aCopyHasTheTemplatesRowsEvenWhileASessionHeldTheTemplate() throws Exception {
    TestPostgres server = TestServices.postgres();
    TestDatabase template = server.createDatabase();
    TestDatabase copy = null;
    template.execute("CREATE TABLE probe (id int)");
    template.execute("INSERT INTO probe VALUES (1), (2)");
    // As TimescaleDB's scheduler does in every database with the extension.
    try (Connection holder = template.connect()) {
      copy = server.copyDatabase(template);
      assertThat(copy.queryLong("SELECT count(*) FROM probe")).isEqualTo(2);
      assertThat(holder.isValid(5)).isFalse();
    } finally {
      if (copy != null) {
        copy.drop();
      }
      template.drop();
    }
  }

  @Test
  void preparedTransactionsAreEnabled() throws Exception {
    // The exactly-once COPY sink commits in two phases; PostgreSQL disables that by default.
    assertThat(DB.get().queryLong("SELECT current_setting('max_prepared_transactions')::int"))
        .isPositive();
  }

  @Test
  void serverCanBeStoppedAndStartedKeepingCommittedRows() throws Exception {
    TestPostgres server = TestServices.postgres();
    assumeTrue(
        server.canRestart(), "outage not staged: " + server + " is not started by the tests");
    TestDatabase db = DB.get();
    db.execute("CREATE TABLE survivor (id int)");
    db.execute("INSERT INTO survivor VALUES (42)");

    try (Connection open = db.connect()) {
      server.stop();
      assertThatThrownBy(
              () -> {
                try (Statement statement = open.createStatement()) {
                  statement.execute("SELECT 1");
                }
              })
          .isInstanceOf(SQLException.class);
      assertThatThrownBy(db::connect).isInstanceOf(SQLException.class);
    } finally {
      server.start();
    }

    assertThat(db.queryLong("SELECT id FROM survivor")).isEqualTo(42);
  }

  @Test
  void aCrashKeepsPreparedTransactionsAndLosesOpenOnes() throws Exception {
    TestPostgres server = TestServices.postgres();
    assumeTrue(server.canCrash(), "crash not staged: " + server + " cannot be crashed by a test");
    TestDatabase db = DB.get();
    db.execute("CREATE TABLE crash_survivor (id int)");
    String gid = "crash-test-" + System.nanoTime();

    try (Connection prepared = db.connect();
        Connection open = db.connect()) {
      prepared.setAutoCommit(false);
      open.setAutoCommit(false);
      try (Statement statement = prepared.createStatement()) {
        statement.execute("INSERT INTO crash_survivor VALUES (1)");
        statement.execute("PREPARE TRANSACTION '" + gid + "'");
      }
      try (Statement statement = open.createStatement()) {
        statement.execute("INSERT INTO crash_survivor VALUES (2)");
      }
      server.crash();
      assertThatThrownBy(db::connect).isInstanceOf(SQLException.class);
    } finally {
      server.start();
    }

    assertThat(db.queryLong("SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + gid + "'"))
        .as("the prepared transaction after the crash")
        .isEqualTo(1);
    db.execute("COMMIT PREPARED '" + gid + "'");
    assertThat(db.queryLong("SELECT sum(id) * 100 + count(*) FROM crash_survivor"))
        .as("only the prepared row (1), once: 100 * sum + count")
        .isEqualTo(101);
  }
}
