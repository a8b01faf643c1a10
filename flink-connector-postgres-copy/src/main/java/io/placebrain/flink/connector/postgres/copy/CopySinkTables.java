package io.placebrain.flink.connector.postgres.copy;

import org.apache.flink.annotation.PublicEvolving;

/**
 * The definitions of the tables the sink can write beside the target table: where rows the database
 * refuses go ({@link PostgresCopySinkBuilder#setRejectedRowsTable}) and where exactly-once writers
 * record their progress ({@link PostgresCopySinkBuilder#setProgressTable}). The sink checks at
 * start that the tables exist with these columns; creating them is left to the application's schema
 * management.
 */
@PublicEvolving
public final class CopySinkTables {

  private CopySinkTables() {}

  /** {@code CREATE TABLE IF NOT EXISTS} of a rejected-rows table. */
  public static String rejectedRowsDdl(String table) {
    return "CREATE TABLE IF NOT EXISTS "
        + table
        + " (rejected_at timestamptz NOT NULL DEFAULT now(), target_table text NOT NULL,"
        + " sqlstate text NOT NULL, message text NOT NULL, row_text text NOT NULL,"
        + " row_copy bytea)";
  }

  /** {@code CREATE TABLE IF NOT EXISTS} of a progress table. */
  public static String progressDdl(String table) {
    return "CREATE TABLE IF NOT EXISTS "
        + table
        + " (prefix text NOT NULL, subtask int NOT NULL, job_tag text NOT NULL,"
        + " checkpoint bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(),"
        + " PRIMARY KEY (prefix, subtask))";
  }
}
