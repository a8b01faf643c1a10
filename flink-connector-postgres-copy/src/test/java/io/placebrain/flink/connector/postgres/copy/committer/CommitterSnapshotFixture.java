package io.placebrain.flink.connector.postgres.copy.committer;

import io.placebrain.collector.testing.FreshDatabase;
import io.placebrain.flink.connector.postgres.copy.AfterCommitAction;
import io.placebrain.flink.connector.postgres.copy.CopySinkTestSupport;
import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import io.placebrain.flink.connector.postgres.copy.StatementParameter;
import io.placebrain.flink.connector.postgres.copy.TestRow;
import io.placebrain.flink.connector.postgres.copy.TestRowEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.SavepointType;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.api.connector.sink2.CommittableSummary;
import org.apache.flink.streaming.api.connector.sink2.CommittableWithLineage;
import org.apache.flink.streaming.runtime.operators.sink.CommitterOperatorFactory;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Savepoints of the sink's committer operator holding one committable, kept as test resources so
 * that every later version must restore them, commit their transaction and run their after-commit
 * work ({@link CommitterUpgradeTest}). {@code committer-v3.snapshot} was written by the connector
 * of commit 4e47791: a committable of version 3, whose after-commit statements are SQL text. {@code
 * committer-v4.snapshot} was written by commit ac288d5: a committable of version 4, whose
 * after-commit work is {@link #V4_ACTIONS}, typed actions naming statements of {@link
 * TestRowEncoder}. Never rewrite one with newer code; {@link #write()} writes the current version's
 * next to them (and refuses to overwrite; change it to write what the new version stores):
 *
 * <pre>
 * ./mvnw -pl flink-connector-postgres-copy -am verify -Dtest=CommitterSnapshotFixture \
 *     -Dconnector.write-fixture=true -Dsurefire.failIfNoSpecifiedTests=false -DskipITs
 * </pre>
 */
class CommitterSnapshotFixture {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  static final String DIRECTORY = "/io/placebrain/flink/connector/postgres/copy/committer/";

  /** Version 3: the transaction and {@link #RAW_STATEMENTS}. */
  static final String V3 = DIRECTORY + "committer-v3.snapshot";

  /** The prepared transaction the snapshot's committable names: 1 row. */
  static final String TRANSACTION = "fixture-v3:1:0:4e47791a";

  /** Version 4: {@link #TRANSACTION_V4} and {@link #V4_ACTIONS}. */
  static final String V4 = DIRECTORY + "committer-v4.snapshot";

  /** The prepared transaction the version 4 snapshot's committable names: 1 row. */
  static final String TRANSACTION_V4 = "fixture-v4:1:0:ac288d5a";

  /** The device whose rows the version 4 snapshot's actions delete. */
  static final UUID DELETED_DEVICE = UUID.fromString("5f0c2d1e-7a8b-4c9d-8e0f-1a2b3c4d5e6f");

  static final List<AfterCommitAction> V4_ACTIONS =
      List.of(
          TestRowEncoder.DELETE_NEGATIVE.bind(StatementParameter.uuid(DELETED_DEVICE)),
          TestRowEncoder.DELETE_DEVICE.bind(StatementParameter.uuid(DELETED_DEVICE)));

  /** The key of a row its raw after-commit statement deletes. */
  static final String DELETED_KEY = "fixture-deleted";

  static final List<String> RAW_STATEMENTS =
      List.of(
          "DELETE FROM measurements WHERE key = '" + DELETED_KEY + "' AND value < 0",
          "DELETE FROM measurements WHERE key = '" + DELETED_KEY + "'");

  @Test
  @EnabledIfSystemProperty(named = "connector.write-fixture", matches = "true")
  void write() throws Exception {
    PostgresCopySink<TestRow> sink =
        CopySinkTestSupport.builder(DB.get(), DeliveryGuarantee.EXACTLY_ONCE).build();
    try (OneInputStreamOperatorTestHarness<
            CommittableMessage<CopyCommittable>, CommittableMessage<CopyCommittable>>
        harness =
            new OneInputStreamOperatorTestHarness<>(
                new CommitterOperatorFactory<>(sink, false, true))) {
      harness.open();
      harness.processElement(new StreamRecord<>(new CommittableSummary<>(0, 1, 1L, 1, 0)));
      harness.processElement(
          new StreamRecord<>(
              new CommittableWithLineage<>(
                  new CopyCommittable(TRANSACTION_V4, 1, V4_ACTIONS), 1L, 0)));
      OperatorSubtaskState snapshot =
          harness
              .snapshotWithLocalState(1, 1, SavepointType.savepoint(SavepointFormatType.CANONICAL))
              .getJobManagerOwnedState();
      Path target =
          Path.of(System.getProperty("connector.fixture-dir", "src/test/resources"))
              .resolve(
                  DIRECTORY.substring(1)
                      + "committer-v"
                      + CopyCommittableSerializer.VERSION
                      + ".snapshot");
      if (Files.exists(target)) {
        throw new IllegalStateException(target + " exists; fixtures are never rewritten");
      }
      Files.createDirectories(target.getParent());
      OperatorSnapshotUtil.writeStateHandle(snapshot, target.toString());
    }
  }

  /** The snapshot, as a restore would read it. */
  static OperatorSubtaskState read(String resource) throws Exception {
    return OperatorSnapshotUtil.readStateHandle(
        Path.of(CommitterSnapshotFixture.class.getResource(resource).toURI()).toString());
  }
}
