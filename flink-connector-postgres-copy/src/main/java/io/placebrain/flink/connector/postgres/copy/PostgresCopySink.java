package io.placebrain.flink.connector.postgres.copy;

import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittableSerializer;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommitter;
import io.placebrain.flink.connector.postgres.copy.writer.CopySinkWriter;
import io.placebrain.flink.connector.postgres.copy.writer.CopyWriterState;
import io.placebrain.flink.connector.postgres.copy.writer.CopyWriterStateSerializer;
import io.placebrain.flink.connector.postgres.copy.writer.WriterContext;
import java.io.IOException;
import java.util.Collection;
import java.util.function.UnaryOperator;
import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * A Flink sink that writes rows into a PostgreSQL table with binary {@code COPY ... FROM STDIN},
 * buffered and checkpointed, exactly once (two-phase commit with prepared transactions) or at least
 * once. Build one with {@link #builder()}; the module's README says what it guarantees and how
 * commit failures are handled. The methods Flink calls to run it (writers, committer, serializers)
 * and their types are internal.
 */
@PublicEvolving
public final class PostgresCopySink<T>
    implements Sink<T>,
        SupportsCommitter<CopyCommittable>,
        SupportsWriterState<T, CopyWriterState> {

  /** Read through {@link CopySinkSettings#of}, which keeps the internal type off this API. */
  final CopySinkSettings settings;

  private final CopyRowEncoder<T> encoder;
  private final ConnectionFactory connections;
  private final ConnectionAction startupAction;
  private final ConnectionAction periodicAction;

  PostgresCopySink(
      CopySinkSettings settings,
      CopyRowEncoder<T> encoder,
      ConnectionFactory connections,
      ConnectionAction startupAction,
      ConnectionAction periodicAction) {
    this.settings = settings;
    this.encoder = encoder;
    this.connections = connections;
    this.startupAction = startupAction;
    this.periodicAction = periodicAction;
  }

  /**
   * Why the server behind {@code connection} cannot run the exactly-once sink (prepared
   * transactions disabled), with what to set; empty when it can. For checks before a job starts.
   */
  public static java.util.Optional<String> exactlyOnceProblem(java.sql.Connection connection)
      throws java.sql.SQLException {
    try {
      io.placebrain.flink.connector.postgres.copy.internal.PreparedTransactions.checkEnabled(
          connection, 1);
      return java.util.Optional.empty();
    } catch (
        io.placebrain.flink.connector.postgres.copy.internal.PreparedTransactions.DisabledException
            e) {
      return java.util.Optional.of(e.getMessage());
    }
  }

  /**
   * The database sessions of running jobs that write with {@code transactionPrefix}, described for
   * a person; empty when none does. For checks before a job starts: a second job with the same
   * prefix fails at start anyway, but other sinks of that job may already have interfered.
   */
  public static java.util.List<String> sessionsWritingWith(
      java.sql.Connection connection, String transactionPrefix) throws java.sql.SQLException {
    return io.placebrain.flink.connector.postgres.copy.internal.TransactionOwnership
        .sessionsWriting(connection, transactionPrefix);
  }

  public static <T> PostgresCopySinkBuilder<T> builder() {
    return new PostgresCopySinkBuilder<>();
  }

  @Internal
  @Override
  public SinkWriter<T> createWriter(WriterInitContext context) throws IOException {
    return restoreWriter(context, java.util.List.of());
  }

  @Internal
  @Override
  public StatefulSinkWriter<T, CopyWriterState> restoreWriter(
      WriterInitContext context, Collection<CopyWriterState> recoveredState) throws IOException {
    UnaryOperator<T> retain = element -> element;
    if (context.isObjectReuseEnabled()) {
      TypeSerializer<T> serializer = context.createInputSerializer();
      retain = serializer::copy;
    }
    return new CopySinkWriter<>(
        settings,
        encoder,
        connections,
        startupAction,
        periodicAction,
        WriterContext.of(context).withRestoredState(recoveredState),
        retain);
  }

  @Internal
  @Override
  public SimpleVersionedSerializer<CopyWriterState> getWriterStateSerializer() {
    return new CopyWriterStateSerializer();
  }

  @Internal
  @Override
  public Committer<CopyCommittable> createCommitter(CommitterInitContext context) {
    return new CopyCommitter(settings, connections, context.metricGroup());
  }

  @Internal
  @Override
  public SimpleVersionedSerializer<CopyCommittable> getCommittableSerializer() {
    return new CopyCommittableSerializer();
  }
}
