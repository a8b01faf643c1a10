package io.placebrain.flink.connector.postgres.copy;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.annotation.Internal;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * Everything a {@link PostgresCopySink} is configured with; built by {@link
 * PostgresCopySinkBuilder}.
 *
 * @param table target table, optionally schema-qualified
 * @param columns target columns, in the order the encoder writes them
 * @param deliveryGuarantee {@code EXACTLY_ONCE} (two-phase commit) or {@code AT_LEAST_ONCE}
 * @param transactionIdPrefix names this sink's prepared transactions; unique per job and database
 * @param maxBufferedRows a COPY batch is sent when this many rows are buffered
 * @param maxBufferedBytes ... or when the buffered rows take this many bytes
 * @param flushInterval ... or when this much time passed since the last batch
 * @param connectTimeout how long the writer keeps trying to reach the database before failing
 * @param commitAttempts attempts per commit (transient failures) before the job fails with the
 *     reason and its restart commits from the checkpoint
 * @param initialBackoff first pause between attempts, doubled each time up to {@code maxBackoff}
 * @param periodicActionInterval how often subtask 0 runs the periodic action, if there is one
 * @param rejectedRowsTable where rows the database refuses as data (SQLSTATE class 22 or 23) go, in
 *     the same transaction as the rows around them, instead of failing the job; null to fail
 * @param progressTable where each exactly-once transaction records which job wrote it, so that a
 *     job starting without state under a prefix another job used refuses; null for no such check
 * @param applicationName the start of the writers' {@code application_name}
 * @param afterCommitStatements the encoder's after-commit statements by name
 */
@Internal
public record CopySinkSettings(
    String table,
    List<String> columns,
    DeliveryGuarantee deliveryGuarantee,
    String transactionIdPrefix,
    int maxBufferedRows,
    long maxBufferedBytes,
    Duration flushInterval,
    Duration connectTimeout,
    int commitAttempts,
    Duration initialBackoff,
    Duration maxBackoff,
    Duration periodicActionInterval,
    String rejectedRowsTable,
    String progressTable,
    String applicationName,
    Map<String, AfterCommitStatement> afterCommitStatements)
    implements Serializable {

  public CopySinkSettings {
    afterCommitStatements = Map.copyOf(afterCommitStatements);
  }

  /** The settings a sink was built with. */
  public static CopySinkSettings of(PostgresCopySink<?> sink) {
    return sink.settings;
  }

  /** Quoted for SQL: {@code COPY table (columns) FROM STDIN BINARY}. */
  public String copyStatement() {
    StringBuilder sql = new StringBuilder("COPY ").append(table).append(" (");
    for (int i = 0; i < columns.size(); i++) {
      if (i > 0) {
        sql.append(", ");
      }
      sql.append('"').append(columns.get(i).replace("\"", "\"\"")).append('"');
    }
    return sql.append(") FROM STDIN (FORMAT binary)").toString();
  }

  public boolean exactlyOnce() {
    return deliveryGuarantee == DeliveryGuarantee.EXACTLY_ONCE;
  }
}
