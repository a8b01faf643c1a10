package io.placebrain.collector.job;

import io.placebrain.flink.connector.postgres.copy.PostgresCopySink;
import io.placebrain.flink.connector.postgres.copy.committer.CopyCommittable;
import io.placebrain.flink.connector.postgres.copy.writer.CopyWriterState;
import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** The real COPY sink with planned failures at the points of its two-phase commit. */
final class FailingCopySink<T>
    implements Sink<T>,
        SupportsCommitter<CopyCommittable>,
        SupportsWriterState<T, CopyWriterState> {

  static final AtomicInteger commitCalls = new AtomicInteger();

  private final PostgresCopySink<T> delegate;

  FailingCopySink(PostgresCopySink<T> delegate) {
    this.delegate = delegate;
  }

  @Override
  public SinkWriter<T> createWriter(WriterInitContext context) throws IOException {
    return restoreWriter(context, List.of());
  }

  @Override
  public StatefulSinkWriter<T, CopyWriterState> restoreWriter(
      WriterInitContext context, Collection<CopyWriterState> state) throws IOException {
    if (context.getRestoredCheckpointId().isPresent()
        && FailurePlan.point == FailurePlan.Point.DURING_RECOVERY
        && FailurePlan.failuresInjected.get() == 1
        && FailurePlan.recoveryFailuresInjected.compareAndSet(0, 1)) {
      throw new IOException("Planned failure while the writer recovers");
    }
    @SuppressWarnings("unchecked")
    StatefulSinkWriter<T, CopyWriterState> writer =
        (StatefulSinkWriter<T, CopyWriterState>) delegate.restoreWriter(context, state);
    return new Writer<>(writer);
  }

  @Override
  public SimpleVersionedSerializer<CopyWriterState> getWriterStateSerializer() {
    return delegate.getWriterStateSerializer();
  }

  @Override
  public Committer<CopyCommittable> createCommitter(CommitterInitContext context)
      throws IOException {
    return new FailingCommitter(delegate.createCommitter(context));
  }

  @Override
  public SimpleVersionedSerializer<CopyCommittable> getCommittableSerializer() {
    return delegate.getCommittableSerializer();
  }

  private static final class Writer<T>
      implements StatefulSinkWriter<T, CopyWriterState>, CommittingSinkWriter<T, CopyCommittable> {
    private final StatefulSinkWriter<T, CopyWriterState> delegate;

    Writer(StatefulSinkWriter<T, CopyWriterState> delegate) {
      this.delegate = delegate;
    }

    @Override
    public void write(T element, Context context) throws IOException, InterruptedException {
      delegate.write(element, context);
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
      delegate.flush(endOfInput);
    }

    @Override
    @SuppressWarnings("unchecked")
    public Collection<CopyCommittable> prepareCommit() throws IOException, InterruptedException {
      return ((CommittingSinkWriter<T, CopyCommittable>) delegate).prepareCommit();
    }

    @Override
    public List<CopyWriterState> snapshotState(long checkpointId) throws IOException {
      // The transaction of this checkpoint is prepared by now; failing here fails the checkpoint.
      FailurePlan.checkpointsSeen.accumulateAndGet(checkpointId, Math::max);
      if (FailurePlan.strike(FailurePlan.Point.AFTER_PREPARE, checkpointId)) {
        throw new IOException("Planned failure after prepare, in snapshot " + checkpointId);
      }
      return delegate.snapshotState(checkpointId);
    }

    @Override
    public void close() throws Exception {
      delegate.close();
    }
  }

  private static final class FailingCommitter implements Committer<CopyCommittable> {
    private final Committer<CopyCommittable> delegate;

    FailingCommitter(Committer<CopyCommittable> delegate) {
      this.delegate = delegate;
    }

    @Override
    public void commit(Collection<CommitRequest<CopyCommittable>> requests)
        throws IOException, InterruptedException {
      int call = commitCalls.incrementAndGet();
      if (FailurePlan.strike(FailurePlan.Point.BEFORE_COMMIT, call)) {
        throw new IOException("Planned failure before commit call " + call);
      }
      delegate.commit(requests);
      // The database has committed, Flink has not heard of it: on restart the committer commits
      // the same transactions again and must recognise them as done.
      if (!requests.isEmpty() && FailurePlan.strike(FailurePlan.Point.DURING_COMMIT, call)) {
        throw new IOException("Planned failure during commit call " + call + ", after committing");
      }
    }

    @Override
    public void close() throws Exception {
      delegate.close();
    }
  }
}
