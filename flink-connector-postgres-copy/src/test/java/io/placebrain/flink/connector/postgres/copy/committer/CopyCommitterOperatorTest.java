package io.placebrain.flink.connector.postgres.copy.committer;

import static io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport.builder;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.collector.testing.postgres.TestDatabase;
import io.placebrain.flink.connector.postgres.copy.AfterCommitStatement;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import io.placebrain.flink.connector.postgres.copy.StatementParameter;
import io.placebrain.flink.connector.postgres.copy.TestRow;
import io.placebrain.flink.connector.postgres.copy.TestRowEncoder;
import java.util.List;
import java.util.UUID;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.api.connector.sink2.CommittableSummary;
import org.apache.flink.streaming.api.connector.sink2.CommittableWithLineage;
import org.apache.flink.streaming.runtime.operators.sink.CommitterOperatorFactory;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The committer inside Flink's own committer operator (the one a job runs for the sink), against
 * real PostgreSQL: a commit that cannot complete must fail the task, keep the committable in the
 * checkpoint and the transaction prepared, so that a restart with the cause fixed commits it.
 */
class CopyCommitterOperatorTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  /** Another database on the same server: where a job points after a wrong database.url. */
  @RegisterExtension static final FreshDatabase OTHER = new FreshDatabase();

  private static final String TABLE =
      "CREATE TABLE measurements (time timestamptz, device_id uuid, key text, value float8)";

  @BeforeAll
  static void createTables() throws Exception {
    DB.get().execute(TABLE);
  }

  @Test
  void aCommitThatCannotCompleteFailsTheTaskAndCommitsAfterARestartWithTheCauseFixed()
      throws Exception {
    String name = "operator-test:1:0:a1";
    DB.get()
        .execute(
            "BEGIN; INSERT INTO measurements VALUES (now(), gen_random_uuid(), '"
                + name
                + "', 1); PREPARE TRANSACTION '"
                + name
                + "'");

    // Restored with database.url pointing at another database of the same server: COMMIT
    // PREPARED fails with 0A000 (the transaction belongs to another database).
    OperatorSubtaskState checkpoint;
    try (var harness = committerOperator(OTHER.get())) {
      harness.open();
      deliver(harness, 1, new CopyCommittable(name, 1));
      checkpoint = harness.snapshot(1, 1);

      assertThatThrownBy(() -> harness.notifyOfCompletedCheckpoint(1))
          .hasStackTraceContaining(name)
          .hasStackTraceContaining("0A000");
    }
    assertThat(prepared(name)).as("still prepared").isTrue();
    assertThat(rowsWithKey(name)).isZero();

    // The cause fixed, the job restarts from the checkpoint and the transaction commits.
    try (var restored = committerOperator(DB.get())) {
      restored.setRestoredCheckpointId(1);
      restored.initializeState(checkpoint);
      restored.open();
    }
    assertThat(prepared(name)).isFalse();
    assertThat(rowsWithKey(name)).isEqualTo(1);
  }

  @Test
  void statementsAfterACommitAreNeverSkipped() throws Exception {
    UUID device = UUID.randomUUID();
    DB.get()
        .execute("INSERT INTO measurements VALUES (now(), '" + device + "', 'deleted-device', 1)");
    CopyCommittable deletion =
        new CopyCommittable(
            null, 0, List.of(TestRowEncoder.DELETE_DEVICE.bind(StatementParameter.uuid(device))));

    // No measurements table there: the deletion fails with 42P01.
    OperatorSubtaskState checkpoint;
    try (var harness = committerOperator(OTHER.get())) {
      harness.open();
      deliver(harness, 1, deletion);
      checkpoint = harness.snapshot(1, 1);

      assertThatThrownBy(() -> harness.notifyOfCompletedCheckpoint(1))
          .hasStackTraceContaining("42P01");
    }
    assertThat(rowsWithKey("deleted-device")).isEqualTo(1);

    try (var restored = committerOperator(DB.get())) {
      restored.setRestoredCheckpointId(1);
      restored.initializeState(checkpoint);
      restored.open();
    }
    assertThat(rowsWithKey("deleted-device")).isZero();
  }

  @Test
  void aStatementFixedInTheJobAppliesToCheckpointsTakenBefore() throws Exception {
    UUID device = UUID.randomUUID();
    DB.get().execute("INSERT INTO measurements VALUES (now(), '" + device + "', 'fixed-sql', 1)");
    AfterCommitStatement broken =
        AfterCommitStatement.of("delete_device", "DELETE FROM measurement WHERE device_id = ?");
    CopyCommittable deletion =
        new CopyCommittable(null, 0, List.of(broken.bind(StatementParameter.uuid(device))));

    // The job's statement names a table that does not exist: 42P01, and the job fails.
    OperatorSubtaskState checkpoint;
    try (var harness = committerOperator(DB.get(), TestRowEncoder.declaring(List.of(broken)))) {
      harness.open();
      deliver(harness, 1, deletion);
      checkpoint = harness.snapshot(1, 1);

      assertThatThrownBy(() -> harness.notifyOfCompletedCheckpoint(1))
          .hasStackTraceContaining("42P01");
    }
    assertThat(rowsWithKey("fixed-sql")).isEqualTo(1);

    // The next version of the job fixes the statement's SQL; the checkpoint holds no SQL, only
    // the statement's name and the device, so the fix applies to it.
    try (var restored = committerOperator(DB.get(), new TestRowEncoder())) {
      restored.setRestoredCheckpointId(1);
      restored.initializeState(checkpoint);
      restored.open();
    }
    assertThat(rowsWithKey("fixed-sql")).isZero();
  }

  @Test
  void anActionOfAStatementTheJobNoLongerDeclaresFailsWithoutRestartsSayingWhatToDeclare()
      throws Exception {
    CopyCommittable deletion =
        new CopyCommittable(
            null,
            0,
            List.of(TestRowEncoder.DELETE_DEVICE.bind(StatementParameter.uuid(UUID.randomUUID()))));
    OperatorSubtaskState checkpoint;
    try (var harness = committerOperator(DB.get(), new TestRowEncoder())) {
      harness.open();
      deliver(harness, 1, deletion);
      checkpoint = harness.snapshot(1, 1);
    }

    AfterCommitStatement renamed =
        AfterCommitStatement.of("delete_device_v2", TestRowEncoder.DELETE_DEVICE.sql());
    try (var restored = committerOperator(DB.get(), TestRowEncoder.declaring(List.of(renamed)))) {
      restored.setRestoredCheckpointId(1);
      // The committer operator commits what it restores while it initialises its state.
      assertThatThrownBy(() -> restored.initializeState(checkpoint))
          .isInstanceOf(SuppressRestartsException.class)
          .hasStackTraceContaining("declares no statement named 'delete_device'")
          .hasStackTraceContaining("delete_device_v2");
    }
  }

  @Test
  void anUndeclaredActionStopsTheCommitBeforeTheTransactionOrAnyActionRuns() throws Exception {
    UUID device = UUID.randomUUID();
    DB.get()
        .execute(
            "INSERT INTO measurements VALUES (now(), '" + device + "', 'negative-checked', -1)");
    DB.get()
        .execute(
            "BEGIN; INSERT INTO measurements VALUES (now(), gen_random_uuid(), 'checked-first', 1);"
                + " PREPARE TRANSACTION 'checked:1:0:a'");
    CopyCommittable committable =
        new CopyCommittable(
            "checked:1:0:a",
            1,
            List.of(
                TestRowEncoder.DELETE_NEGATIVE.bind(StatementParameter.uuid(device)),
                TestRowEncoder.DELETE_DEVICE.bind(StatementParameter.uuid(device))));
    OperatorSubtaskState checkpoint;
    try (var harness = committerOperator(DB.get(), new TestRowEncoder())) {
      harness.open();
      deliver(harness, 1, committable);
      checkpoint = harness.snapshot(1, 1);
    }

    try (var restored =
        committerOperator(
            DB.get(), TestRowEncoder.declaring(List.of(TestRowEncoder.DELETE_NEGATIVE)))) {
      restored.setRestoredCheckpointId(1);
      assertThatThrownBy(() -> restored.initializeState(checkpoint))
          .isInstanceOf(SuppressRestartsException.class)
          .hasStackTraceContaining("declares no statement named 'delete_device'")
          .hasStackTraceContaining("stays prepared");
    }

    assertThat(prepared("checked:1:0:a")).as("still prepared").isTrue();
    assertThat(rowsWithKey("negative-checked"))
        .as("the declared action did not run either")
        .isOne();
    DB.get().execute("ROLLBACK PREPARED 'checked:1:0:a'");
  }

  private static OneInputStreamOperatorTestHarness<
          CommittableMessage<CopyCommittable>, CommittableMessage<CopyCommittable>>
      committerOperator(TestDatabase database) throws Exception {
    return committerOperator(database, new TestRowEncoder());
  }

  private static OneInputStreamOperatorTestHarness<
          CommittableMessage<CopyCommittable>, CommittableMessage<CopyCommittable>>
      committerOperator(TestDatabase database, TestRowEncoder encoder) throws Exception {
    PostgresCopySink<TestRow> sink =
        builder(database, DeliveryGuarantee.EXACTLY_ONCE)
            .setEncoder(encoder)
            .setCommitAttempts(2)
            .build();
    return new OneInputStreamOperatorTestHarness<>(
        new CommitterOperatorFactory<>(sink, false, true));
  }

  /** What the writer operator sends for one checkpoint of subtask 0 of 1. */
  private static void deliver(
      OneInputStreamOperatorTestHarness<
              CommittableMessage<CopyCommittable>, CommittableMessage<CopyCommittable>>
          harness,
      long checkpoint,
      CopyCommittable committable)
      throws Exception {
    harness.processElement(new StreamRecord<>(new CommittableSummary<>(0, 1, checkpoint, 1, 0)));
    harness.processElement(
        new StreamRecord<>(new CommittableWithLineage<>(committable, checkpoint, 0)));
  }

  private static boolean prepared(String name) throws Exception {
    return DB.get().queryLong("SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + name + "'")
        > 0;
  }

  private static long rowsWithKey(String key) throws Exception {
    return DB.get().queryLong("SELECT count(*) FROM measurements WHERE key = '" + key + "'");
  }
}
