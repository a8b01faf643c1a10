package io.placebrain.flink.connector.postgres.copy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SqlFailuresTest {

  @ParameterizedTest
  @CsvSource({
    "08006, true", // connection failure
    "08001, true", // cannot establish connection
    "57P01, true", // admin shutdown
    "57P03, true", // cannot connect now (starting up)
    "40001, true", // serialization failure
    "40P01, true", // deadlock
    "53300, true", // too many connections
    "55P03, true", // lock not available
    "57014, true", // query canceled: a statement timeout, worth another attempt
    "42P01, false", // undefined table
    "42501, false", // insufficient privilege
    "22P02, false", // invalid text representation
    "42704, false", // undefined object
  })
  void sortsBySqlState(String state, boolean transientFailure) {
    assertThat(SqlFailures.isTransient(new SQLException("x", state))).isEqualTo(transientFailure);
  }

  @ParameterizedTest
  @CsvSource({"08006", "57P01"})
  void looksThroughCauses(String state) {
    SQLException wrapped =
        new SQLException("outer", (String) null, new SQLException("inner", state));

    assertThat(SqlFailures.isTransient(wrapped)).isTrue();
  }
}
