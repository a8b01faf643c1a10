package io.placebrain.collector.copysink.writer;

import java.util.Objects;

/**
 * The writer's checkpointed state. Rows are in the database (in the checkpoint's prepared
 * transaction) before the snapshot is taken, so all the state records is the transaction prefix the
 * writer named its transactions with: a job restored with another {@code sink.transaction-prefix}
 * still finds the leftovers of the old one (see {@link CopySinkWriter}).
 */
public final class CopyWriterState {

  /** State of a version that recorded nothing. */
  public static final CopyWriterState EMPTY = new CopyWriterState(null);

  private final String transactionPrefix;

  public CopyWriterState(String transactionPrefix) {
    this.transactionPrefix = transactionPrefix;
  }

  /** The prefix of the writer's transactions, or null when the state did not record one. */
  public String transactionPrefix() {
    return transactionPrefix;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof CopyWriterState state
        && Objects.equals(transactionPrefix, state.transactionPrefix);
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(transactionPrefix);
  }

  @Override
  public String toString() {
    return "CopyWriterState{transactionPrefix=" + transactionPrefix + "}";
  }
}
