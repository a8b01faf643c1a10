package io.placebrain.collector.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.placebrain.collector.storage.CollectorSchema;
import io.placebrain.collector.storage.SchemaSettings;
import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.flink.SharedMiniCluster;
import io.placebrain.collector.testing.postgres.TestPostgres;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * PostgreSQL stops mid-stream for longer than many checkpoint intervals and starts again: the job
 * recovers by itself and every reading is stored exactly once.
 */
class DatabaseOutageITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();
  @RegisterExtension static final SharedMiniCluster FLINK = new SharedMiniCluster();

  private static final int DEVICES = 4;
  private static final int READINGS_PER_DEVICE = 400;
  private static final Duration OUTAGE = Duration.ofSeconds(6);

  @Test
  void aDatabaseOutageLosesAndDuplicatesNothing() throws Exception {
    TestPostgres server = TestServices.postgres();
    assumeTrue(
        server.canRestart(), "outage not staged: " + server + " is not started by the tests");
    try (Connection connection = DB.get().connect()) {
      CollectorSchema.migrate(connection, SchemaSettings.DEFAULTS);
    }
    JobHarness harness = new JobHarness(DB.get(), Map.of());
    List<String> devices = new ArrayList<>();
    for (int d = 0; d < DEVICES; d++) {
      devices.add(UUID.randomUUID().toString());
    }
    Instant base = Instant.now().minus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);

    StreamExecutionEnvironment env = harness.environment(1_000);
    // The job exactly as main wires it.
    CollectorJob.build(env, harness.config);
    JobClient job = env.executeAsync("database outage");

    ExecutorService producer = Executors.newSingleThreadExecutor();
    try {
      // A steady stream over ~8 s, so readings arrive before, during and after the outage.
      Future<?> produced =
          producer.submit(
              () -> {
                for (int n = 0; n < READINGS_PER_DEVICE; n++) {
                  for (String device : devices) {
                    harness.kafka.send(
                        harness.telemetryTopic,
                        device,
                        harness.telemetry(device, "seq", n, base.plusSeconds(n).toString()));
                  }
                  sleep(20);
                }
              });
      long expected = (long) DEVICES * READINGS_PER_DEVICE;
      assertThat(JobHarness.await(Duration.ofSeconds(30), () -> stored(devices) > 0))
          .as("readings flow before the outage")
          .isTrue();

      long storedBeforeOutage = stored(devices);
      server.stop();
      Thread.sleep(OUTAGE.toMillis());
      server.start();

      produced.get();
      boolean complete =
          JobHarness.await(Duration.ofSeconds(120), () -> stored(devices) >= expected);
      Thread.sleep(1_500);

      assertThat(storedBeforeOutage).as("the outage struck mid-stream").isLessThan(expected);
      assertThat(complete).as("every reading arrived after the outage").isTrue();
      assertThat(stored(devices)).isEqualTo(expected);
      assertThat(
              DB.get()
                  .queryLong(
                      "SELECT count(*) FROM (SELECT device_id, time FROM readings WHERE key = 'seq'"
                          + " GROUP BY device_id, time HAVING count(*) > 1) duplicates"))
          .as("duplicates")
          .isZero();
      assertThat(job.getJobStatus().get())
          .as("recovered without help")
          .isEqualTo(JobStatus.RUNNING);
      assertThat(
              DB.get()
                  .queryLong(
                      "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"
                          + " AND gid LIKE '"
                          + harness.config.sinkTransactionPrefix()
                          + ":%'"))
          .as("prepared transactions left behind")
          .isZero();
    } finally {
      producer.shutdownNow();
      server.start();
      job.cancel().get();
    }
  }

  private static long stored(List<String> devices) throws Exception {
    StringBuilder list = new StringBuilder();
    for (String device : devices) {
      list.append(list.length() == 0 ? "" : ", ").append('\'').append(device).append('\'');
    }
    try {
      return DB.get().queryLong("SELECT count(*) FROM readings WHERE device_id IN (" + list + ")");
    } catch (java.sql.SQLException e) {
      return -1; // the database is down
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
