package io.placebrain.flink.connector.postgres.copy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class StatementParameterTest {

  @Test
  void textRefusesANulCharacter() {
    assertThatThrownBy(() -> StatementParameter.text("a\u0000b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("NUL character")
        .hasMessageContaining("index 1");
  }

  @Test
  void textRefusesLoneSurrogatesAndKeepsPairs() {
    assertThatThrownBy(() -> StatementParameter.text("\uD800x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lone surrogate at index 0");
    assertThatThrownBy(() -> StatementParameter.text("x\uDC00"))
        .hasMessageContaining("lone surrogate at index 1");
    assertThat(StatementParameter.text("größe \uD83D\uDE00").value())
        .isEqualTo("größe \uD83D\uDE00");
  }

  @Test
  void timestampsBeforeWhatTheDriverBindsAsThemselvesAreRefused() {
    long first = -210_863_520_000_000_000L;
    assertThat(StatementParameter.timestampMicros(first).value())
        .isEqualTo(OffsetDateTime.of(-4712, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC));
    assertThatThrownBy(() -> StatementParameter.timestampMicros(first - 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("4713-01-01 BC");
    assertThatThrownBy(() -> StatementParameter.timestampMicros(Long.MIN_VALUE))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(StatementParameter.timestampMicros(Long.MAX_VALUE).value()).isNotNull();
  }
}
