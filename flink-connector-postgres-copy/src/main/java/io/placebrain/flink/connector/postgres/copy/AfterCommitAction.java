package io.placebrain.flink.connector.postgres.copy;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.PublicEvolving;

/**
 * One run of an {@link AfterCommitStatement}: its name and typed parameters, which is what a
 * checkpoint stores until the commit. Made by {@link AfterCommitStatement#bind}.
 */
@PublicEvolving
public final class AfterCommitAction implements Serializable {

  private static final long serialVersionUID = 1L;

  private final String statement;
  private final List<StatementParameter> parameters;

  AfterCommitAction(String statement, List<StatementParameter> parameters) {
    this.statement = statement;
    this.parameters = List.copyOf(parameters);
  }

  /** An action read back from a checkpoint; its statement is looked up when it runs. */
  @Internal
  public static AfterCommitAction restored(String statement, List<StatementParameter> parameters) {
    return new AfterCommitAction(statement, parameters);
  }

  /** The name of the statement to run. */
  public String statement() {
    return statement;
  }

  public List<StatementParameter> parameters() {
    return parameters;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof AfterCommitAction
        && ((AfterCommitAction) other).statement.equals(statement)
        && ((AfterCommitAction) other).parameters.equals(parameters);
  }

  @Override
  public int hashCode() {
    return Objects.hash(statement, parameters);
  }

  @Override
  public String toString() {
    return statement + parameters;
  }
}
