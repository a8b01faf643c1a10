package io.placebrain.flink.connector.postgres.copy.committer;

import static io.placebrain.flink.connector.postgres.copy.committer.CommitterSnapshotFixture.DELETED_DEVICE;
import static io.placebrain.flink.connector.postgres.copy.committer.CommitterSnapshotFixture.DELETED_KEY;
import static io.placebrain.flink.connector.postgres.copy.committer.CommitterSnapshotFixture.TRANSACTION;
import static io.placebrain.flink.connector.postgres.copy.committer.CommitterSnapshotFixture.TRANSACTION_V4;
import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import io.placebrain.flink.connector.postgres.copy.TestRow;
import io.placebrain.flink.connector.postgres.copy.TestRowEncoder;
import java.util.UUID;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.runtime.operators.sink.CommitterOperatorFactory;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A savepoint of an earlier version's committer operator ({@link CommitterSnapshotFixture})
 * restores into Flink's own committer operator with this version's sink: the transaction it holds
 * commits, and its after-commit work still runs after it: SQL text in version 3, typed actions in
 * version 4.
 */
class CommitterUpgradeTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @BeforeAll
  static void createTables() throws Exception {
    DB.get().execute(TestRowEncoder.DDL);
  }

  @Test
  void aVersionThreeSavepointCommitsItsTransactionAndRunsItsSqlStatementsAfterIt()
      throws Exception {
    // The row the statements delete is in the transaction: only statements that run after its
    // commit see it.
    prepare(TRANSACTION, UUID.randomUUID(), DELETED_KEY);

    restore(CommitterSnapshotFixture.V3);

    assertThat(prepared(TRANSACTION)).as("committed").isZero();
    assertThat(rowsWithKey(TRANSACTION)).isEqualTo(1);
    assertThat(rowsWithKey(DELETED_KEY)).as("the SQL statements ran after the commit").isZero();
  }

  @Test
  void aVersionFourSavepointCommitsItsTransactionAndRunsItsActionsAfterIt() throws Exception {
    prepare(TRANSACTION_V4, DELETED_DEVICE, "fixture-v4-deleted");

    restore(CommitterSnapshotFixture.V4);

    assertThat(prepared(TRANSACTION_V4)).as("committed").isZero();
    assertThat(rowsWithKey(TRANSACTION_V4)).isEqualTo(1);
    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM measurements WHERE device_id = '" + DELETED_DEVICE + "'"))
        .as("the actions ran after the commit")
        .isZero();
  }

  /**
   * Prepares {@code transaction} as the job would have: one row keyed by its name, of another
   * device, and a row of {@code deletedDevice} keyed {@code deletedKey} for the after-commit work
   * to delete.
   */
  private static void prepare(String transaction, UUID deletedDevice, String deletedKey)
      throws Exception {
    DB.get()
        .execute(
            "BEGIN; INSERT INTO measurements VALUES (now(), gen_random_uuid(), '"
                + transaction
                + "', 1), (now(), '"
                + deletedDevice
                + "', '"
                + deletedKey
                + "', 1); PREPARE TRANSACTION '"
                + transaction
                + "'");
  }

  private static void restore(String fixture) throws Exception {
    PostgresCopySink<TestRow> sink =
        CopySinkTestSupport.builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build();
    try (OneInputStreamOperatorTestHarness<
            CommittableMessage<CopyCommittable>, CommittableMessage<CopyCommittable>>
        restored =
            new OneInputStreamOperatorTestHarness<>(
                new CommitterOperatorFactory<>(sink, false, true))) {
      restored.setRestoredCheckpointId(1);
      restored.initializeState(CommitterSnapshotFixture.read(fixture));
      restored.open();
    }
  }

  private static long prepared(String transaction) throws Exception {
    return DB.get()
        .queryLong("SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + transaction + "'");
  }

  private static long rowsWithKey(String key) throws Exception {
    return DB.get().queryLong("SELECT count(*) FROM measurements WHERE key = '" + key + "'");
  }
}
