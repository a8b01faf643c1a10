package io.placebrain.flink.connector.postgres.copy.committer;

import static io.placebrain.flink.connector.postgres.copy.committer.CommitterSnapshotFixture.DELETED_KEY;
import static io.placebrain.flink.connector.postgres.copy.committer.CommitterSnapshotFixture.TRANSACTION;
import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import io.placebrain.flink.connector.postgres.copy.TestRow;
import io.placebrain.flink.connector.postgres.copy.TestRowEncoder;
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
 * commits, and its after-commit statements, stored as SQL text then, still run after it.
 */
class CommitterUpgradeTest {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  @BeforeAll
  static void createTables() throws Exception {
    DB.get().execute(TestRowEncoder.DDL);
  }

  @Test
  void aVersionThreeSavepointCommitsItsTransactionAndRunsItsSqlStatements() throws Exception {
    DB.get()
        .execute(
            "INSERT INTO measurements VALUES (now(), gen_random_uuid(), '" + DELETED_KEY + "', 1)");
    DB.get()
        .execute(
            "BEGIN; INSERT INTO measurements VALUES (now(), gen_random_uuid(), '"
                + TRANSACTION
                + "', 1); PREPARE TRANSACTION '"
                + TRANSACTION
                + "'");

    PostgresCopySink<TestRow> sink =
        CopySinkTestSupport.builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build();
    try (OneInputStreamOperatorTestHarness<
            CommittableMessage<CopyCommittable>, CommittableMessage<CopyCommittable>>
        restored =
            new OneInputStreamOperatorTestHarness<>(
                new CommitterOperatorFactory<>(sink, false, true))) {
      restored.setRestoredCheckpointId(1);
      restored.initializeState(CommitterSnapshotFixture.read(CommitterSnapshotFixture.V3));
      restored.open();
    }

    assertThat(
            DB.get()
                .queryLong(
                    "SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + TRANSACTION + "'"))
        .as("committed")
        .isZero();
    assertThat(rowsWithKey(TRANSACTION)).isEqualTo(1);
    assertThat(rowsWithKey(DELETED_KEY)).as("the SQL statements ran").isZero();
  }

  private static long rowsWithKey(String key) throws Exception {
    return DB.get().queryLong("SELECT count(*) FROM measurements WHERE key = '" + key + "'");
  }
}
