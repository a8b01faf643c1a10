package io.placebrain.flink.connector.postgres.copy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.postgresql.core.Parser;

class AfterCommitStatementTest {

  @ParameterizedTest
  @CsvSource(
      delimiterString = " => ",
      quoteCharacter = '`',
      value = {
        "DELETE FROM t WHERE a = ? AND b = ? => 2",
        "DELETE FROM t WHERE a = '?' AND b = ? => 1",
        "DELETE FROM t WHERE a = 'it''s ?' AND \"we?ird\" = ? => 1",
        "DELETE FROM t WHERE a ?? 'k' AND b = ? => 1",
        "DELETE FROM t /* ? */ WHERE b = ? -- ? => 1",
        "DO $body$ BEGIN PERFORM ?; END $body$ => 0",
        "DELETE FROM t WHERE a$1 = ? => 1",
        "DELETE FROM t WHERE a = E'x\\'y' AND b = ? => 1",
        "DELETE FROM t WHERE a = 'x\\' AND b = ? => 1",
        "DELETE FROM t /* a /* b */ ? */ WHERE b = ? => 1",
        "DELETE FROM t WHERE col$x$ = ? => 1",
        "DELETE FROM t WHERE row_text LIKE '%' || ?::text || '%' => 1",
      })
  void countsThePlaceholdersTheDriverBinds(String sql, int placeholders) throws Exception {
    assertThat(AfterCommitStatement.of("s", sql).parameterCount()).isEqualTo(placeholders);
    assertThat(
            Parser.parseJdbcSql(sql, true, true, true, false, false).stream()
                .mapToInt(query -> query.bindPositions.length)
                .sum())
        .as("the driver's own count")
        .isEqualTo(placeholders);
  }

  @ParameterizedTest
  @CsvSource(
      delimiterString = " => ",
      value = {
        "DELETE FROM t WHERE a = $1 => 24",
        "DELETE FROM t WHERE a = '$1' AND b = $2 => 37",
      })
  void refusesServerSideParameters(String sql, int index) {
    assertThatThrownBy(() -> AfterCommitStatement.of("s", sql))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("server-side parameter ($n) at index " + index);
  }

  @Test
  void bindingTheWrongNumberOfParametersFailsWithTheStatement() {
    AfterCommitStatement statement =
        AfterCommitStatement.of("delete_device", "DELETE FROM t WHERE device = ?");

    assertThatThrownBy(statement::bind)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("delete_device takes 1 parameters, not 0");
    assertThatThrownBy(() -> statement.bind(StatementParameter.int8(1), StatementParameter.int8(2)))
        .hasMessageContaining("not 2");
    assertThat(statement.bind(StatementParameter.int8(1)).parameters())
        .containsExactly(StatementParameter.int8(1));
  }

  @Test
  void refusesNamesThatAreNotIdentifiersAndMissingSql() {
    assertThatThrownBy(() -> AfterCommitStatement.of("a b", "SELECT 1"))
        .hasMessageContaining("name");
    assertThatThrownBy(() -> AfterCommitStatement.of("a", " ")).hasMessageContaining("no SQL");
  }

  @Test
  void theBuilderRefusesTwoStatementsOfOneName() {
    TestRowEncoder encoder =
        TestRowEncoder.declaring(
            List.of(
                AfterCommitStatement.of("delete_device", "DELETE FROM a WHERE d = ?"),
                AfterCommitStatement.of("delete_device", "DELETE FROM b WHERE d = ?")));

    assertThatThrownBy(
            () ->
                PostgresCopySink.<TestRow>builder()
                    .setConnection("jdbc:postgresql://localhost/x", null, null)
                    .setTable("measurements")
                    .setEncoder(encoder)
                    .setTransactionIdPrefix("p")
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("two after-commit statements named delete_device");
  }
}
