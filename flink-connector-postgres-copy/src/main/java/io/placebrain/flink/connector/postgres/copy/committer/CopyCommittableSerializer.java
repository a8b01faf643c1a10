package io.placebrain.flink.connector.postgres.copy.committer;

import io.placebrain.flink.connector.postgres.copy.AfterCommitAction;
import io.placebrain.flink.connector.postgres.copy.StatementParameter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.annotation.Internal;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Versioned serializer of {@link CopyCommittable}, stored in checkpoints.
 *
 * <ul>
 *   <li>v1: transaction name, rows.
 *   <li>v2: optional transaction name, rows, after-commit statements as SQL text.
 *   <li>v3: v2 and the transaction's id.
 *   <li>v4: optional transaction name, rows, transaction id, SQL text statements (only those
 *       restored from v1 to v3 and not yet run), after-commit actions (statement name and typed
 *       parameters).
 * </ul>
 */
@Internal
public final class CopyCommittableSerializer implements SimpleVersionedSerializer<CopyCommittable> {

  static final int VERSION = 4;

  @Override
  public int getVersion() {
    return VERSION;
  }

  @Override
  public byte[] serialize(CopyCommittable committable) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeBoolean(committable.transactionId() != null);
      if (committable.transactionId() != null) {
        out.writeUTF(committable.transactionId());
      }
      out.writeLong(committable.rows());
      out.writeLong(committable.transactionXid());
      // A committable restored from v1 to v3 and checkpointed again before its commit.
      out.writeInt(committable.rawStatements().size());
      for (String statement : committable.rawStatements()) {
        out.writeUTF(statement);
      }
      out.writeInt(committable.afterCommit().size());
      for (AfterCommitAction action : committable.afterCommit()) {
        out.writeUTF(action.statement());
        out.writeInt(action.parameters().size());
        for (StatementParameter parameter : action.parameters()) {
          parameter.writeTo(out);
        }
      }
    }
    return bytes.toByteArray();
  }

  @Override
  public CopyCommittable deserialize(int version, byte[] serialized) throws IOException {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
      switch (version) {
        case 1:
          return new CopyCommittable(in.readUTF(), in.readLong());
        case 2:
        case 3:
          {
            String transactionId = in.readBoolean() ? in.readUTF() : null;
            long rows = in.readLong();
            List<String> statements = readStatements(in);
            long xid = version >= 3 ? in.readLong() : 0;
            return CopyCommittable.withRawStatements(transactionId, rows, statements, xid);
          }
        case 4:
          {
            String transactionId = in.readBoolean() ? in.readUTF() : null;
            long rows = in.readLong();
            long xid = in.readLong();
            List<String> statements = readStatements(in);
            int actions = in.readInt();
            List<AfterCommitAction> afterCommit = new ArrayList<>(actions);
            for (int i = 0; i < actions; i++) {
              String name = in.readUTF();
              int count = in.readInt();
              List<StatementParameter> parameters = new ArrayList<>(count);
              for (int j = 0; j < count; j++) {
                parameters.add(StatementParameter.readFrom(in));
              }
              afterCommit.add(AfterCommitAction.restored(name, parameters));
            }
            return new CopyCommittable(transactionId, rows, afterCommit, xid, statements);
          }
        default:
          throw new IOException(
              "Unknown version "
                  + version
                  + " of a COPY sink committable; this build reads up to "
                  + VERSION);
      }
    }
  }

  private static List<String> readStatements(DataInputStream in) throws IOException {
    int count = in.readInt();
    List<String> statements = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      statements.add(in.readUTF());
    }
    return statements;
  }
}
