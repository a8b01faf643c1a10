package io.placebrain.flink.connector.postgres.copy;

import java.io.Serializable;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Writes one element as one row of PostgreSQL's binary COPY format: exactly {@link #columns()}
 * fields, in the order of {@link #columns()}, each through the typed methods of the buffer.
 */
@PublicEvolving
public interface CopyRowEncoder<T> extends Serializable {

  /** The target columns, in the order {@link #encode} writes their fields. */
  java.util.List<String> columns();

  void encode(T element, BinaryCopyBuffer row);

  /**
   * The statements {@link #afterCommitActions} may run, each under its own name. The sink looks
   * them up by name when it commits, so checkpoints hold no SQL.
   */
  default java.util.List<AfterCommitStatement> afterCommitStatements() {
    return java.util.List.of();
  }

  /**
   * For an element that is not a row but an instruction: actions of {@link #afterCommitStatements}
   * that the committer runs once the checkpoint the element belongs to has completed and its rows
   * are committed. "Its rows" are those of the same writer subtask, in that checkpoint and earlier
   * ones: rows written before the element, and also rows written after it within the same
   * checkpoint. Rows of other subtasks, and of later checkpoints, may commit before or after the
   * actions run. This holds for both delivery guarantees. The statements must be idempotent, since
   * a commit retried after a restart runs them again. Returns null for a row.
   *
   * <p>Actions run only at checkpoints (and at the end of bounded input): a job that never
   * checkpoints never runs them, and the writer keeps them in memory without limit. Enable
   * checkpointing when the encoder yields actions, whatever the delivery guarantee.
   *
   * @throws IllegalArgumentException when a parameter refuses a value (see {@link
   *     StatementParameter}); the job then fails without restarts, naming the element
   */
  default java.util.List<AfterCommitAction> afterCommitActions(T element) {
    return null;
  }

  /** The element as text for a person, kept with a row the database refused. */
  default String describe(T element) {
    return String.valueOf(element);
  }
}
