package io.placebrain.collector.copysink.writer;

/**
 * The writer's checkpointed state, which is empty: rows are in the database (in the checkpoint's
 * prepared transaction) before the snapshot is taken. The writer is stateful only to learn each
 * checkpoint's id, which names its next transaction.
 */
public final class CopyWriterState {

  public static final CopyWriterState EMPTY = new CopyWriterState();

  private CopyWriterState() {}
}
