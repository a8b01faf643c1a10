package io.placebrain.collector.copysink.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class TransactionIdsTest {

  @Test
  void namesCarryTheirCheckpointLabelAndAreUnique() {
    String first = TransactionIds.name("collector-readings", 17, 2);
    String second = TransactionIds.name("collector-readings", 17, 2);

    assertThat(first).startsWith("collector-readings:17:2:").isNotEqualTo(second);
    assertThat(TransactionIds.checkpointLabel("collector-readings", first)).hasValue(17);
  }

  @Test
  void namesOfOtherPrefixesAreNotOurs() {
    String name = TransactionIds.name("collector-readings-2", 5, 0);

    assertThat(TransactionIds.checkpointLabel("collector-readings", name))
        .isEqualTo(OptionalLong.empty());
    assertThat(TransactionIds.checkpointLabel("collector-readings", "collector-readings:x:0:1"))
        .isEmpty();
  }

  @Test
  void prefixesThatWouldBreakParsingOrQuotingAreRefused() {
    assertThatThrownBy(() -> TransactionIds.validatePrefix("a:b"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TransactionIds.validatePrefix("a'b"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TransactionIds.validatePrefix(""))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
