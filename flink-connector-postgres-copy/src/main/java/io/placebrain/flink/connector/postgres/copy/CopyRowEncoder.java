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
   * to run once every row written before it is committed (exactly once: by the committer, after
   * this checkpoint's transaction and all earlier ones; at least once: after the rows before it).
   * The statements must be idempotent, since a commit retried after a restart runs them again.
   * Returns null for a row.
   */
  default java.util.List<AfterCommitAction> afterCommitActions(T element) {
    return null;
  }

  /** The element as text for a person, kept with a row the database refused. */
  default String describe(T element) {
    return String.valueOf(element);
  }
}
