package io.placebrain.flink.connector.postgres.copy;

import io.placebrain.flink.connector.postgres.copy.internal.Placeholders;
import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A parameterised SQL statement the sink runs after a commit, declared once by the encoder ({@link
 * CopyRowEncoder#afterCommitStatements()}) under a name, with {@code ?} placeholders bound as in a
 * {@link java.sql.PreparedStatement}. Checkpoints store only {@link AfterCommitAction}s (the name
 * and the typed values), never the SQL: the SQL comes from the running job, so a statement fixed in
 * a new version of the job applies to checkpoints taken before. Keep a name for as long as
 * checkpoints may hold actions of it, and its placeholders in the same order.
 */
@PublicEvolving
public final class AfterCommitStatement implements Serializable {

  private static final long serialVersionUID = 1L;

  private final String name;
  private final String sql;
  private final int parameterCount;

  private AfterCommitStatement(String name, String sql) {
    this.name = name;
    this.sql = sql;
    this.parameterCount = Placeholders.count(sql);
  }

  /**
   * A statement called {@code name} (1 to 64 letters, digits, {@code _ . -}) running {@code sql}.
   * Statements must be idempotent: a commit retried after a restart runs them again. Parameters are
   * {@code ?} placeholders; {@code $1} is refused.
   */
  public static AfterCommitStatement of(String name, String sql) {
    if (name == null || !name.matches("[A-Za-z0-9_.-]{1,64}")) {
      throw new IllegalArgumentException(
          "An after-commit statement's name must be 1 to 64 letters, digits, '_', '.' or '-': "
              + name);
    }
    if (sql == null || sql.isBlank()) {
      throw new IllegalArgumentException("After-commit statement " + name + " has no SQL");
    }
    int positional = Placeholders.firstPositional(sql);
    if (positional >= 0) {
      // The driver would send it unbound: the statement would fail only after its rows commit.
      throw new IllegalArgumentException(
          "After-commit statement "
              + name
              + " uses a server-side parameter ($n) at index "
              + positional
              + "; write ? placeholders instead: "
              + sql);
    }
    return new AfterCommitStatement(name, sql);
  }

  public String name() {
    return name;
  }

  public String sql() {
    return sql;
  }

  /** How many {@code ?} placeholders the SQL has (outside literals, identifiers and comments). */
  public int parameterCount() {
    return parameterCount;
  }

  /** An action running this statement with {@code parameters}, one per placeholder, in order. */
  public AfterCommitAction bind(StatementParameter... parameters) {
    for (StatementParameter parameter : parameters) {
      Objects.requireNonNull(parameter, "a parameter is null; use StatementParameter.sqlNull()");
    }
    if (parameters.length != parameterCount) {
      throw new IllegalArgumentException(
          "After-commit statement "
              + name
              + " takes "
              + parameterCount
              + " parameters, not "
              + parameters.length
              + ": "
              + sql);
    }
    return new AfterCommitAction(name, List.of(parameters));
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof AfterCommitStatement
        && ((AfterCommitStatement) other).name.equals(name)
        && ((AfterCommitStatement) other).sql.equals(sql);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, sql);
  }

  @Override
  public String toString() {
    return name + ": " + sql;
  }
}
