package io.placebrain.collector.testing.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ExternalPostgresTest {

  @Test
  void readsCredentialsAndKeepsOtherParameters() {
    ExternalPostgres postgres =
        new ExternalPostgres(
            "jdbc:postgresql://db.example:6543/telemetry?user=alice&password=p%40ss&sslmode=require");

    assertThat(postgres.user()).isEqualTo("alice");
    assertThat(postgres.password()).isEqualTo("p@ss");
    assertThat(postgres.adminDatabase()).isEqualTo("telemetry");
    assertThat(postgres.jdbcUrl("collector_test_1"))
        .isEqualTo("jdbc:postgresql://db.example:6543/collector_test_1?sslmode=require");
    assertThat(postgres.canRestart()).isFalse();
  }

  @Test
  void passwordIsOptional() {
    ExternalPostgres postgres = new ExternalPostgres("jdbc:postgresql://localhost/db?user=bob");

    assertThat(postgres.password()).isNull();
    assertThat(postgres.jdbcUrl("other")).isEqualTo("jdbc:postgresql://localhost/other");
  }

  @Test
  void rejectsUrlsWithoutUserAndHidesPasswordsInErrors() {
    assertThatThrownBy(() -> new ExternalPostgres("jdbc:postgresql://localhost:5432/db"))
        .hasMessageContaining("user");
    assertThatThrownBy(() -> new ExternalPostgres("postgres://x?password=secret"))
        .hasMessageContaining("password=***")
        .hasMessageNotContaining("secret");
  }

  @Test
  void refusesToDropDatabasesTestsDidNotCreate() {
    ExternalPostgres postgres = new ExternalPostgres("jdbc:postgresql://localhost/db?user=bob");

    assertThatThrownBy(() -> postgres.dropDatabase("production"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
