package io.placebrain.flink.connector.postgres.copy;

import io.placebrain.flink.connector.postgres.copy.internal.TransactionIds;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * Builds a {@link PostgresCopySink}; every setting but the connection, table and encoder has a
 * default.
 */
@PublicEvolving
public final class PostgresCopySinkBuilder<T> {

  private ConnectionFactory connections;
  private String table;
  private CopyRowEncoder<T> encoder;
  private ConnectionAction startupAction;
  private ConnectionAction periodicAction;
  private Duration periodicActionInterval = Duration.ofHours(1);
  private DeliveryGuarantee deliveryGuarantee = DeliveryGuarantee.EXACTLY_ONCE;
  private String transactionIdPrefix;
  private String applicationName = DEFAULT_APPLICATION_NAME;
  private int maxBufferedRows = 20_000;
  private long maxBufferedBytes = 4L << 20;
  private Duration flushInterval = Duration.ofSeconds(1);
  private Duration connectTimeout = Duration.ofSeconds(60);
  private int commitAttempts = 5;
  private Duration initialBackoff = Duration.ofMillis(100);
  private Duration maxBackoff = Duration.ofSeconds(10);
  private String rejectedRowsTable;
  private String progressTable;

  /** What the writers' database sessions are called unless {@link #setApplicationName} says. */
  public static final String DEFAULT_APPLICATION_NAME = "flink-postgres-copy";

  PostgresCopySinkBuilder() {}

  public PostgresCopySinkBuilder<T> setConnection(String jdbcUrl, String user, String password) {
    return setConnectionFactory(ConnectionFactory.of(jdbcUrl, user, password));
  }

  public PostgresCopySinkBuilder<T> setConnectionFactory(ConnectionFactory connections) {
    this.connections = connections;
    return this;
  }

  public PostgresCopySinkBuilder<T> setTable(String table) {
    this.table = table;
    return this;
  }

  public PostgresCopySinkBuilder<T> setEncoder(CopyRowEncoder<T> encoder) {
    this.encoder = encoder;
    return this;
  }

  /** Runs on every writer's connection before it writes, e.g. an idempotent schema migration. */
  public PostgresCopySinkBuilder<T> setStartupAction(ConnectionAction startupAction) {
    this.startupAction = startupAction;
    return this;
  }

  /**
   * Runs on subtask 0 every {@code interval} on a connection of its own, e.g. partition
   * maintenance. Failures are logged and retried next time; they never fail the job.
   */
  public PostgresCopySinkBuilder<T> setPeriodicAction(
      ConnectionAction periodicAction, Duration interval) {
    this.periodicAction = periodicAction;
    this.periodicActionInterval = interval;
    return this;
  }

  /**
   * Exactly once (rows become visible when the checkpoint completes) or at least once (each batch
   * commits when sent). Both need checkpointing for after-commit actions ({@link
   * CopyRowEncoder#afterCommitActions}): they run only once a checkpoint completes, so without
   * checkpointing they never run and pile up in the writer's memory.
   */
  public PostgresCopySinkBuilder<T> setDeliveryGuarantee(DeliveryGuarantee deliveryGuarantee) {
    if (deliveryGuarantee == DeliveryGuarantee.NONE) {
      throw new IllegalArgumentException("The COPY sink offers EXACTLY_ONCE or AT_LEAST_ONCE");
    }
    this.deliveryGuarantee = deliveryGuarantee;
    return this;
  }

  /**
   * Names this sink's prepared transactions; required, and must be unique among jobs sharing a
   * database (a second job with the same prefix fails at start). At most {@value
   * TransactionIds#MAX_PREFIX_BYTES} bytes of UTF-8, without {@code :} or quotes.
   */
  public PostgresCopySinkBuilder<T> setTransactionIdPrefix(String transactionIdPrefix) {
    TransactionIds.validatePrefix(transactionIdPrefix);
    this.transactionIdPrefix = transactionIdPrefix;
    return this;
  }

  /**
   * The start of the writers' {@code application_name} in {@code pg_stat_activity} (job id, subtask
   * and attempt follow), by which a restarted writer recognises the sessions of its own job's
   * earlier attempts; default {@value #DEFAULT_APPLICATION_NAME}. At most 20 ASCII characters
   * without spaces.
   */
  public PostgresCopySinkBuilder<T> setApplicationName(String applicationName) {
    if (applicationName == null || !applicationName.matches("[\\x21-\\x7e]{1,20}")) {
      throw new IllegalArgumentException(
          "applicationName must be 1 to 20 printable ASCII characters without spaces: "
              + applicationName);
    }
    this.applicationName = applicationName;
    return this;
  }

  public PostgresCopySinkBuilder<T> setMaxBufferedRows(int maxBufferedRows) {
    if (maxBufferedRows < 1) {
      throw new IllegalArgumentException("maxBufferedRows must be positive");
    }
    this.maxBufferedRows = maxBufferedRows;
    return this;
  }

  public PostgresCopySinkBuilder<T> setMaxBufferedBytes(long maxBufferedBytes) {
    if (maxBufferedBytes < 1024) {
      throw new IllegalArgumentException("maxBufferedBytes must be at least 1024");
    }
    this.maxBufferedBytes = maxBufferedBytes;
    return this;
  }

  public PostgresCopySinkBuilder<T> setFlushInterval(Duration flushInterval) {
    if (flushInterval.isNegative() || flushInterval.isZero()) {
      throw new IllegalArgumentException("flushInterval must be positive");
    }
    this.flushInterval = flushInterval;
    return this;
  }

  /** How long a writer keeps retrying to reach the database before failing its task. */
  public PostgresCopySinkBuilder<T> setConnectTimeout(Duration connectTimeout) {
    this.connectTimeout = connectTimeout;
    return this;
  }

  public PostgresCopySinkBuilder<T> setRetryBackoff(Duration initial, Duration max) {
    this.initialBackoff = initial;
    this.maxBackoff = max;
    return this;
  }

  public PostgresCopySinkBuilder<T> setCommitAttempts(int commitAttempts) {
    if (commitAttempts < 1) {
      throw new IllegalArgumentException("commitAttempts must be positive");
    }
    this.commitAttempts = commitAttempts;
    return this;
  }

  /**
   * Keeps rows the database refuses as data (SQLSTATE class 22, e.g. an invalid byte sequence, or
   * 23, e.g. a check constraint) in {@code table} instead of failing the job: the writer finds each
   * such row by splitting its batch, writes it there with the database's message in the same
   * transaction as the accepted rows, and goes on. The table needs the columns {@code target_table,
   * sqlstate, message, row_text} (text) and {@code row_copy} (bytea: the row as a binary COPY
   * stream, to load again once fixed). Without this, such a row fails the job.
   */
  public PostgresCopySinkBuilder<T> setRejectedRowsTable(String table) {
    this.rejectedRowsTable = table;
    return this;
  }

  /**
   * Records in {@code table}, inside each exactly-once transaction, which job wrote under the
   * transaction prefix up to which checkpoint. A job that starts without a checkpoint or savepoint
   * then refuses, without restarts, when another job already committed under its prefix: it would
   * read its sources from where they say (e.g. a consumer group's offsets), which need not match
   * what is stored. The table needs {@code prefix text, subtask int, job_tag text, checkpoint
   * bigint, committed_at timestamptz} with the primary key {@code (prefix, subtask)}.
   */
  public PostgresCopySinkBuilder<T> setProgressTable(String table) {
    this.progressTable = table;
    return this;
  }

  /**
   * Builds the sink. Fails when the encoder declares two after-commit statements under one name.
   */
  public PostgresCopySink<T> build() {
    Objects.requireNonNull(connections, "connection (setConnection) is required");
    Objects.requireNonNull(table, "table is required");
    Objects.requireNonNull(encoder, "encoder is required");
    Objects.requireNonNull(
        transactionIdPrefix,
        "transaction id prefix (setTransactionIdPrefix) is required: unique per job and database");
    List<String> columns = List.copyOf(encoder.columns());
    CopySinkSettings settings =
        new CopySinkSettings(
            table,
            columns,
            deliveryGuarantee,
            transactionIdPrefix,
            maxBufferedRows,
            maxBufferedBytes,
            flushInterval,
            connectTimeout,
            commitAttempts,
            initialBackoff,
            maxBackoff,
            periodicActionInterval,
            rejectedRowsTable,
            progressTable,
            applicationName,
            statementsByName(encoder.afterCommitStatements()));
    return new PostgresCopySink<>(settings, encoder, connections, startupAction, periodicAction);
  }

  private static Map<String, AfterCommitStatement> statementsByName(
      List<AfterCommitStatement> statements) {
    Map<String, AfterCommitStatement> byName = new LinkedHashMap<>();
    for (AfterCommitStatement statement : statements) {
      AfterCommitStatement earlier = byName.put(statement.name(), statement);
      if (earlier != null) {
        throw new IllegalArgumentException(
            "The encoder declares two after-commit statements named "
                + statement.name()
                + ": "
                + earlier.sql()
                + " and "
                + statement.sql());
      }
    }
    return byName;
  }
}
