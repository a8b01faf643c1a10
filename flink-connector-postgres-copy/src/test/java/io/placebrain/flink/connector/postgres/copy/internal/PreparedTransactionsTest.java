package io.placebrain.flink.connector.postgres.copy.internal;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/** The start-up check of max_prepared_transactions, against a fake connection. */
class PreparedTransactionsTest {

  @Test
  void disabledPreparedTransactionsFailWithWhatToSet() {
    assertThatThrownBy(() -> PreparedTransactions.checkEnabled(serverWith("0"), 4))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("max_prepared_transactions = 0")
        .hasMessageContaining("max_prepared_transactions=16")
        .hasMessageContaining("at-least-once");
  }

  @Test
  void enabledPreparedTransactionsPass() {
    assertThatCode(() -> PreparedTransactions.checkEnabled(serverWith("64"), 4))
        .doesNotThrowAnyException();
  }

  private static Connection serverWith(String maxPreparedTransactions) {
    ResultSet rows =
        proxy(
            ResultSet.class,
            (method, args) -> {
              switch (method) {
                case "next":
                  return true;
                case "getString":
                  return maxPreparedTransactions;
                default:
                  return null;
              }
            });
    Statement statement =
        proxy(Statement.class, (method, args) -> method.equals("executeQuery") ? rows : null);
    return proxy(
        Connection.class, (method, args) -> method.equals("createStatement") ? statement : null);
  }

  private interface Answer {
    Object answer(String method, Object[] args);
  }

  @SuppressWarnings("unchecked")
  private static <T> T proxy(Class<T> type, Answer answer) {
    return (T)
        Proxy.newProxyInstance(
            type.getClassLoader(),
            new Class<?>[] {type},
            (self, method, args) -> answer.answer(method.getName(), args));
  }
}
