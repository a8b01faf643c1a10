package io.placebrain.flink.connector.postgres.copy.committer;

import io.placebrain.flink.connector.postgres.copy.AfterCommitAction;
import java.util.List;
import org.apache.flink.annotation.Internal;

/**
 * One writer subtask's work of one checkpoint, done once the checkpoint is complete: a prepared
 * transaction to commit, then statements to run after it.
 *
 * @param transactionId the name given to {@code PREPARE TRANSACTION}, or null when the checkpoint
 *     brought statements but no rows
 * @param rows how many rows it holds, for metrics and logs
 * @param afterCommit actions of the sink's named statements to run after the commit, in order
 * @param transactionXid the transaction's id ({@code txid_current()}, epoch included) on the server
 *     that prepared it, or 0 when unknown (committables of earlier versions): tells a transaction
 *     committed before a restart from one rolled back or prepared on another server
 * @param rawStatements SQL text to run after the commit, before {@code afterCommit}: only in
 *     committables restored from versions 1 to 3, which stored statements as SQL; empty otherwise
 */
@Internal
public record CopyCommittable(
    String transactionId,
    long rows,
    List<AfterCommitAction> afterCommit,
    long transactionXid,
    List<String> rawStatements) {

  public CopyCommittable {
    afterCommit = List.copyOf(afterCommit);
    rawStatements = List.copyOf(rawStatements);
  }

  public CopyCommittable(
      String transactionId, long rows, List<AfterCommitAction> afterCommit, long transactionXid) {
    this(transactionId, rows, afterCommit, transactionXid, List.of());
  }

  public CopyCommittable(String transactionId, long rows, List<AfterCommitAction> afterCommit) {
    this(transactionId, rows, afterCommit, 0);
  }

  public CopyCommittable(String transactionId, long rows) {
    this(transactionId, rows, List.of());
  }

  /** A committable of version 1 to 3, whose after-commit statements are SQL text. */
  public static CopyCommittable withRawStatements(
      String transactionId, long rows, List<String> rawStatements, long transactionXid) {
    return new CopyCommittable(transactionId, rows, List.of(), transactionXid, rawStatements);
  }

  /** Whether anything runs after the commit. */
  public boolean hasAfterCommit() {
    return !afterCommit.isEmpty() || !rawStatements.isEmpty();
  }
}
