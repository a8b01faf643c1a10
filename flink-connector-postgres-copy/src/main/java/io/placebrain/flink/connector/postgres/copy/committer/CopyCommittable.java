package io.placebrain.flink.connector.postgres.copy.committer;

import java.util.List;
import org.apache.flink.annotation.Internal;

/**
 * One writer subtask's work of one checkpoint, done once the checkpoint is complete: a prepared
 * transaction to commit, then statements to run after it.
 *
 * @param transactionId the name given to {@code PREPARE TRANSACTION}, or null when the checkpoint
 *     brought statements but no rows
 * @param rows how many rows it holds, for metrics and logs
 * @param afterCommit idempotent statements to run after the commit, in order
 * @param transactionXid the transaction's id ({@code txid_current()}, epoch included) on the server
 *     that prepared it, or 0 when unknown (committables of earlier versions): tells a transaction
 *     committed before a restart from one rolled back or prepared on another server
 */
@Internal
public record CopyCommittable(
    String transactionId, long rows, List<String> afterCommit, long transactionXid) {

  public CopyCommittable {
    afterCommit = List.copyOf(afterCommit);
  }

  public CopyCommittable(String transactionId, long rows, List<String> afterCommit) {
    this(transactionId, rows, afterCommit, 0);
  }

  public CopyCommittable(String transactionId, long rows) {
    this(transactionId, rows, List.of());
  }
}
