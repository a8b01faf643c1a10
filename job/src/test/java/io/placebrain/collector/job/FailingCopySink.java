package io.placebrain.collector.job;

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

/**
 * The real COPY sink with planned failures at the points of its two-phase commit. It wraps the sink
 * through Flink's sink interfaces only, never naming the connector's internal committable and state
 * types.
 *
 * @param <C> the sink's committable
 * @param <S> the sink's writer state
 */
final class FailingCopySink<T, C, S>
    implements Sink<T>, SupportsCommitter<C>, SupportsWriterState<T, S> {

  static final AtomicInteger commitCalls = new AtomicInteger();

  private final SupportsCommitter<C> committing;
  private final SupportsWriterState<T, S> stateful;

  private <K extends Sink<T> & SupportsCommitter<C> & SupportsWriterState<T, S>> FailingCopySink(
      K delegate) {
    this.committing = delegate;
    this.stateful = delegate;
  }

  static <T, C, S, K extends Sink<T> & SupportsCommitter<C> & SupportsWriterState<T, S>>
      FailingCopySink<T, C, S> around(K delegate) {
    return new FailingCopySink<>(delegate);
  }

  @Override
  public SinkWriter<T> createWriter(WriterInitContext context) throws IOException {
    return restoreWriter(context, List.of());
  }

  @Override
  public StatefulSinkWriter<T, S> restoreWriter(WriterInitContext context, Collection<S> state)
      throws IOException {
    if (context.getRestoredCheckpointId().isPresent()
        && FailurePlan.point == FailurePlan.Point.DURING_RECOVERY
        && FailurePlan.failuresInjected.get() == 1
        && FailurePlan.recoveryFailuresInjected.compareAndSet(0, 1)) {
      throw new IOException("Planned failure while the writer recovers");
    }
    return new Writer<>(stateful.restoreWriter(context, state));
  }

  @Override
  public SimpleVersionedSerializer<S> getWriterStateSerializer() {
    return stateful.getWriterStateSerializer();
  }

  @Override
  public Committer<C> createCommitter(CommitterInitContext context) throws IOException {
    return new FailingCommitter<>(committing.createCommitter(context));
  }

  @Override
  public SimpleVersionedSerializer<C> getCommittableSerializer() {
    return committing.getCommittableSerializer();
  }

  private static final class Writer<T, C, S>
      implements StatefulSinkWriter<T, S>, CommittingSinkWriter<T, C> {
    private final StatefulSinkWriter<T, S> delegate;

    Writer(StatefulSinkWriter<T, S> delegate) {
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
    public Collection<C> prepareCommit() throws IOException, InterruptedException {
      return ((CommittingSinkWriter<T, C>) delegate).prepareCommit();
    }

    @Override
    public List<S> snapshotState(long checkpointId) throws IOException {
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

  private static final class FailingCommitter<C> implements Committer<C> {
    private final Committer<C> delegate;

    FailingCommitter(Committer<C> delegate) {
      this.delegate = delegate;
    }

    @Override
    public void commit(Collection<CommitRequest<C>> requests)
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
