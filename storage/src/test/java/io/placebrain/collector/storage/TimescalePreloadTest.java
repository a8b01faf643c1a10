package io.placebrain.collector.storage;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TimescalePreloadTest {

  @Test
  void aServerWithoutTimescaleIsFine() {
    assertThat(TimescalePreload.problem(false, false, "")).isEmpty();
  }

  @Test
  void aPreloadedTimescaleIsFine() {
    assertThat(TimescalePreload.problem(true, true, "timescaledb")).isEmpty();
    assertThat(TimescalePreload.problem(true, false, "pg_stat_statements, \"timescaledb\""))
        .isEmpty();
  }

  @Test
  void anInstalledButNotPreloadedTimescaleSaysWhatToSet() {
    assertThat(TimescalePreload.problem(true, false, "pg_stat_statements"))
        .hasValueSatisfying(
            problem ->
                assertThat(problem)
                    .contains("not preloaded (shared_preload_libraries = 'pg_stat_statements')")
                    .contains("Add timescaledb to shared_preload_libraries")
                    .contains("restart PostgreSQL"));
    assertThat(TimescalePreload.problem(true, true, "")).isPresent();
    // A library whose name only contains it does not count.
    assertThat(TimescalePreload.problem(true, false, "not_timescaledb")).isPresent();
  }
}
