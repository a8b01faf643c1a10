package io.placebrain.collector.copysink.writer;

import static io.placebrain.collector.copysink.CopySinkTestSupport.builder;
import static io.placebrain.collector.copysink.CopySinkTestSupport.connections;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.placebrain.collector.copysink.ConnectionAction;
import io.placebrain.collector.copysink.ConnectionFactory;
import io.placebrain.collector.copysink.CopySinkSettings;
import io.placebrain.collector.copysink.internal.TransactionIds;
import io.placebrain.collector.readings.ReadingRowEncoder;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.testing.FreshDatabase;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What a writer does before it writes: recover leftovers, then the startup action. */
class CopySinkWriterStartupTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private final TestProcessingTimeService timers = new TestProcessingTimeService();

  @BeforeAll
  static void createTable() throws Exception {
    DB.get()
        .execute(
            "CREATE TABLE readings (time timestamptz, device_id uuid, key text, value float8)");
  }

  @Test
  void leftoversAreRolledBackBeforeTheStartupActionWaitsForTheirLocks() throws Exception {
    CopySinkSettings settings =
        builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build().settings();
    // The subtask prepared checkpoint 3's transaction, then the job failed before checkpoint 3
    // completed: the leftover keeps its lock on readings until it is rolled back.
    String leftover = TransactionIds.name(settings.transactionIdPrefix(), 3, 0);
    DB.get()
        .execute(
            "BEGIN; INSERT INTO readings VALUES (now(), gen_random_uuid(), 'leftover', 1);"
                + " PREPARE TRANSACTION '"
                + leftover
                + "'");
    // Like a schema migration that has to change the table; it waits at most 10 s for the lock.
    ConnectionAction migration =
        connection -> {
          connection.setAutoCommit(false);
          try (Statement statement = connection.createStatement()) {
            statement.execute("SET LOCAL lock_timeout = '10s'");
            statement.execute("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE");
            connection.commit();
          } finally {
            connection.setAutoCommit(true);
          }
        };

    CopySinkWriter<Reading> restarted =
        assertTimeoutPreemptively(
            Duration.ofSeconds(5),
            () ->
                new CopySinkWriter<>(
                    settings,
                    new ReadingRowEncoder(),
                    connections(DB.get()),
                    migration,
                    new WriterContext(
                        0,
                        1,
                        OptionalLong.of(2),
                        timers,
                        UnregisteredMetricsGroup.createSinkWriterMetricGroup())));
    restarted.close();

    assertThat(DB.get().queryLong("SELECT count(*) FROM pg_prepared_xacts")).isZero();
    assertThat(DB.get().queryLong("SELECT count(*) FROM readings")).isZero();
  }

  @Test
  void aFailedCheckOfPreparedTransactionsClosesTheConnection() {
    CopySinkSettings settings =
        builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build().settings();
    AtomicBoolean closed = new AtomicBoolean();
    ConnectionFactory withoutPreparedTransactions = () -> serverWithoutPreparedTransactions(closed);

    assertThatThrownBy(
            () ->
                new CopySinkWriter<>(
                    settings,
                    new ReadingRowEncoder(),
                    withoutPreparedTransactions,
                    null,
                    new WriterContext(
                        0,
                        1,
                        OptionalLong.empty(),
                        timers,
                        UnregisteredMetricsGroup.createSinkWriterMetricGroup())))
        .hasMessageContaining("max_prepared_transactions = 0");
    assertThat(closed).as("connection closed").isTrue();
  }

  /** A connection to a server with max_prepared_transactions = 0 that records being closed. */
  private static Connection serverWithoutPreparedTransactions(AtomicBoolean closed) {
    ResultSet rows =
        proxy(
            ResultSet.class,
            (method, args) ->
                switch (method) {
                  case "next" -> true;
                  case "getString" -> "0";
                  default -> null;
                });
    Statement statement =
        proxy(Statement.class, (method, args) -> method.equals("executeQuery") ? rows : null);
    return proxy(
        Connection.class,
        (method, args) ->
            switch (method) {
              case "createStatement" -> statement;
              case "close" -> {
                closed.set(true);
                yield null;
              }
              case "getAutoCommit", "isClosed" -> Boolean.FALSE;
              default -> null;
            });
  }

  private interface Answer {
    Object answer(String method, Object[] args);
  }

  @SuppressWarnings("unchecked")
  private static <T> T proxy(Class<T> type, Answer answer) {
    return (T)
        Proxy.newProxyInstance(
            type.getClassLoader(),
            new Class<?>[] {type},
            (self, method, args) -> answer.answer(method.getName(), args));
  }
}
