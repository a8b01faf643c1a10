package io.placebrain.flink.connector.postgres.copy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class TransactionIdsTest {

  @Test
  void namesCarryTheirCheckpointLabelAndAreUnique() {
    String first = TransactionIds.name("collector-measurements", 17, 2);
    String second = TransactionIds.name("collector-measurements", 17, 2);

    assertThat(first).startsWith("collector-measurements:17:2:").isNotEqualTo(second);
    assertThat(TransactionIds.checkpointLabel("collector-measurements", first)).hasValue(17);
  }

  @Test
  void namesCarryTheTagOfTheirJob() {
    String name = TransactionIds.name("p", 3, 1, TransactionIds.jobTag("C4578123d2dce4ab"));

    assertThat(TransactionIds.jobTagOf("p", name))
        .hasValue(TransactionIds.jobTag("c4578123d2dce4ab"));
    // Application mode derives job ids as (hash of the cluster id, 0): same leading digits.
    assertThat(TransactionIds.jobTag(new org.apache.flink.api.common.JobID(-1, 0).toHexString()))
        .isNotEqualTo(
            TransactionIds.jobTag(new org.apache.flink.api.common.JobID(-2, 0).toHexString()));
    assertThat(TransactionIds.subtask("p", name)).hasValue(1);
    assertThat(TransactionIds.jobTagOf("p", "p:3:1:1a2b3c4d")).as("an earlier version").isEmpty();
    assertThat(TransactionIds.jobTag(null)).isEqualTo(TransactionIds.UNKNOWN_JOB);
  }

  @Test
  void namesOfOtherPrefixesAreNotOurs() {
    String name = TransactionIds.name("collector-measurements-2", 5, 0);

    assertThat(TransactionIds.checkpointLabel("collector-measurements", name))
        .isEqualTo(OptionalLong.empty());
    assertThat(
            TransactionIds.checkpointLabel(
                "collector-measurements", "collector-measurements:x:0:1"))
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
