package io.placebrain.flink.connector.postgres.copy.committer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.placebrain.flink.connector.postgres.copy.AfterCommitAction;
import io.placebrain.flink.connector.postgres.copy.AfterCommitStatement;
import io.placebrain.flink.connector.postgres.copy.StatementParameter;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class CopyCommittableSerializerTest {

  private final CopyCommittableSerializer serializer = new CopyCommittableSerializer();

  private static final AfterCommitStatement EVERY_TYPE =
      AfterCommitStatement.of(
          "every_type", "SELECT ?::text, ?::int8, ?::float8, ?::bool, ?::uuid, ?::timestamptz, ?");

  @Test
  void roundTrips() throws Exception {
    CopyCommittable committable = new CopyCommittable("collector-measurements:42:3:9f2c", 12_345L);

    assertThat(roundTrip(committable)).isEqualTo(committable);
  }

  @Test
  void roundTripsActionsOfEveryParameterTypeAndCommittablesWithoutATransaction() throws Exception {
    AfterCommitAction everyType =
        EVERY_TYPE.bind(
            StatementParameter.text("größe ' ; DROP TABLE x"),
            StatementParameter.int8(-42),
            StatementParameter.float8(Double.NaN),
            StatementParameter.bool(true),
            StatementParameter.uuid(UUID.fromString("0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b")),
            StatementParameter.timestampMicros(-1),
            StatementParameter.sqlNull());
    CopyCommittable withActions =
        new CopyCommittable("p:1:0:a", 3, List.of(everyType, everyType), 4_294_967_299L);
    CopyCommittable actionsOnly = new CopyCommittable(null, 0, List.of(everyType));

    for (CopyCommittable committable : List.of(withActions, actionsOnly)) {
      assertThat(roundTrip(committable)).isEqualTo(committable);
    }
  }

  @Test
  void checkpointsARestoredCommittableWithSqlTextAgainWithoutLosingIt() throws Exception {
    CopyCommittable restored =
        CopyCommittable.withRawStatements("p:3:1:c", 7, List.of("DELETE FROM d"), 5);

    assertThat(roundTrip(restored)).isEqualTo(restored);
  }

  @Test
  void readsVersionOneCommittables() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeUTF("p:7:1:b");
      out.writeLong(42);
    }

    assertThat(serializer.deserialize(1, bytes.toByteArray()))
        .isEqualTo(new CopyCommittable("p:7:1:b", 42));
  }

  @Test
  void readsVersionTwoCommittablesWithSqlStatementsAndNoTransactionId() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeBoolean(true);
      out.writeUTF("p:2:0:b");
      out.writeLong(5);
      out.writeInt(1);
      out.writeUTF("DELETE FROM e");
    }

    assertThat(serializer.deserialize(2, bytes.toByteArray()))
        .isEqualTo(CopyCommittable.withRawStatements("p:2:0:b", 5, List.of("DELETE FROM e"), 0));
  }

  @Test
  void readsVersionThreeCommittablesWithSqlStatements() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeBoolean(false);
      out.writeLong(0);
      out.writeInt(2);
      out.writeUTF("DELETE FROM f");
      out.writeUTF("DELETE FROM g");
      out.writeLong(0);
    }

    assertThat(serializer.deserialize(3, bytes.toByteArray()))
        .isEqualTo(
            CopyCommittable.withRawStatements(
                null, 0, List.of("DELETE FROM f", "DELETE FROM g"), 0));
  }

  @Test
  void refusesUnknownVersions() {
    assertThatThrownBy(() -> serializer.deserialize(99, new byte[0]))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("99");
  }

  private CopyCommittable roundTrip(CopyCommittable committable) throws IOException {
    return serializer.deserialize(serializer.getVersion(), serializer.serialize(committable));
  }
}
