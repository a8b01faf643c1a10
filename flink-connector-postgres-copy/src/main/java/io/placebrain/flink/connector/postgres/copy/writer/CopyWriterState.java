package io.placebrain.flink.connector.postgres.copy.writer;

import java.util.Objects;
import org.apache.flink.annotation.Internal;

/**
 * The writer's checkpointed state. Rows are in the database (in the checkpoint's prepared
 * transaction) before the snapshot is taken, so all the state records is how the writer named its
 * transactions: the transaction prefix and the tag of its job. A job restored with another {@code
 * sink.transaction-prefix} still finds the leftovers of the old one, and tells them from those of
 * any other job that used the old prefix (see {@link CopySinkWriter}).
 */
@Internal
public final class CopyWriterState {

  /** State of a version that recorded nothing. */
  public static final CopyWriterState EMPTY = new CopyWriterState(null, null);

  private final String transactionPrefix;
  private final String jobTag;

  /**
   * @param transactionPrefix the prefix of the writer's transaction names, or null if unknown
   * @param jobTag the job tag in the writer's transaction names, or null if unknown
   */
  public CopyWriterState(String transactionPrefix, String jobTag) {
    this.transactionPrefix = transactionPrefix;
    this.jobTag = jobTag;
  }

  /** The prefix of the writer's transactions, or null when the state did not record one. */
  public String transactionPrefix() {
    return transactionPrefix;
  }

  /** The job tag of the writer's transactions, or null when the state did not record one. */
  public String jobTag() {
    return jobTag;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof CopyWriterState state
        && Objects.equals(transactionPrefix, state.transactionPrefix)
        && Objects.equals(jobTag, state.jobTag);
  }

  @Override
  public int hashCode() {
    return Objects.hash(transactionPrefix, jobTag);
  }

  @Override
  public String toString() {
    return "CopyWriterState{transactionPrefix=" + transactionPrefix + ", jobTag=" + jobTag + "}";
  }
}
