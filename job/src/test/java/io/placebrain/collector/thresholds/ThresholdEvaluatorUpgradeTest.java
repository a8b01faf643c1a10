package io.placebrain.collector.thresholds;

import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.DELETED_DEVICE;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.DELETED_THRESHOLD;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.DEVICE;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.GONE;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.HUM;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.MAX;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.MIN;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.OTHER_DEVICE;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.SETTINGS;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.WRITTEN_AT_MS;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.micros;
import static io.placebrain.collector.thresholds.EvaluatorSnapshotFixture.reading;
import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.control.ControlEvent;
import io.placebrain.collector.telemetry.Reading;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.SavepointType;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The evaluator restores snapshots written by earlier versions ({@link EvaluatorSnapshotFixture}:
 * commits 56b151c and c5307f2) with its thresholds, tombstones and alert state intact, on the heap
 * and on the RocksDB state backend (the production one), so a savepoint taken before an upgrade
 * restores after it.
 */
class ThresholdEvaluatorUpgradeTest {

  private KeyedBroadcastOperatorTestHarness<String, Reading, ControlEvent, Reading> harness;

  @AfterEach
  void close() throws Exception {
    if (harness != null) {
      harness.close();
    }
  }

  @ParameterizedTest
  @CsvSource({"false, 56b151c", "true, 56b151c", "false, c5307f2", "true, c5307f2"})
  void snapshotOfAnEarlierVersionRestoresWithThresholdsTombstonesAndAlerts(
      boolean rocksDb, String version) throws Exception {
    restore(rocksDb, Duration.ofHours(1), version);

    assertThat(keys(harness.getBroadcastState(ThresholdEvaluator.SENSOR_BY_THRESHOLD).entries()))
        .containsExactlyInAnyOrder(MAX, MIN, HUM)
        .doesNotContain(GONE, DELETED_THRESHOLD);
    assertThat(
            harness
                .getBroadcastState(ThresholdEvaluator.THRESHOLDS_BY_SENSOR)
                .get(DEVICE + "/temp"))
        .extracting(t -> t.thresholdId)
        .containsExactlyInAnyOrder(MAX, MIN);
    assertThat(harness.getBroadcastState(ThresholdEvaluator.TOMBSTONES).get(DELETED_DEVICE))
        .isEqualTo(WRITTEN_AT_MS);
    if ("c5307f2".equals(version)) {
      assertThat(
              harness
                  .getBroadcastState(ThresholdEvaluator.THRESHOLD_TOMBSTONES)
                  .get(DELETED_THRESHOLD))
          .isEqualTo(WRITTEN_AT_MS);
    }

    harness.processElement(reading(DELETED_DEVICE, "temp", 50, 80), 0); // dropped: tombstone
    harness.processElement(reading(DEVICE, "temp", 20, 50), 0); // older than the newest: ignored
    harness.processElement(reading(OTHER_DEVICE, "hum", 86, 70), 0); // 60 s since second 10
    harness.processElement(reading(DEVICE, "temp", 29, 100), 0); // ends the active alert

    List<AlertEvent> alerts = alerts();
    assertThat(alerts).extracting(a -> a.eventType).containsExactly("created", "resolved");
    AlertEvent created = alerts.get(0);
    assertThat(created.thresholdId).isEqualTo(HUM);
    assertThat(created.id).isEqualTo(alertId(HUM, OTHER_DEVICE, "hum", 80, micros(10)));
    AlertEvent resolved = alerts.get(1);
    assertThat(resolved.thresholdId).isEqualTo(MAX);
    assertThat(resolved.id).isEqualTo(alertId(MAX, DEVICE, "temp", 30, micros(1)));
    assertThat(resolved.createdAtMicros).isEqualTo(micros(61));
    assertThat(resolved.value).isEqualTo(32);
    assertThat(resolved.resolvedAtMicros).isEqualTo(micros(100));
    assertThat(harness.extractOutputValues())
        .extracting(r -> r.deviceId().toString())
        .containsExactly(DEVICE, OTHER_DEVICE, DEVICE);
  }

  @ParameterizedTest
  @CsvSource({"false, 56b151c", "true, 56b151c", "false, c5307f2", "true, c5307f2"})
  void anActiveAlertRestoredFromAnEarlierVersionOutlivesTheIdleSensorRetention(
      boolean rocksDb, String version) throws Exception {
    // The 56b151c job kept alert state 30 days after a sensor's last reading.
    restore(rocksDb, Duration.ofDays(45), version);

    harness.processElement(reading(DEVICE, "temp", 40, 200), 0); // still in violation
    harness.processElement(reading(DEVICE, "temp", 25, 300), 0);

    assertThat(alerts())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.eventType).isEqualTo("resolved");
              assertThat(a.id).isEqualTo(alertId(MAX, DEVICE, "temp", 30, micros(1)));
              assertThat(a.resolvedAtMicros).isEqualTo(micros(300));
            });
  }

  @ParameterizedTest
  @CsvSource({"false, 56b151c", "true, 56b151c", "false, c5307f2", "true, c5307f2"})
  void aSavepointOfTheUpgradedEvaluatorRestoresAgain(boolean rocksDb, String version)
      throws Exception {
    restore(rocksDb, Duration.ofHours(1), version);
    harness.processBroadcastElement(
        EvaluatorSnapshotFixture.event(
            io.placebrain.collector.control.ControlEventType.THRESHOLD_DELETED,
            HUM,
            OTHER_DEVICE,
            "hum"),
        0);
    OperatorSubtaskState savepoint =
        harness
            .snapshotWithLocalState(
                2, WRITTEN_AT_MS, SavepointType.savepoint(SavepointFormatType.CANONICAL))
            .getJobManagerOwnedState();
    harness.close();

    harness = EvaluatorSnapshotFixture.harness(SETTINGS, ThresholdEvaluator.BROADCAST_STATES);
    if (rocksDb) {
      harness.setStateBackend(new EmbeddedRocksDBStateBackend());
    }
    harness.initializeState(savepoint);
    harness.open();
    harness.processBroadcastElement(
        EvaluatorSnapshotFixture.threshold(HUM, OTHER_DEVICE, "hum", "max", 80), 0);
    harness.processElement(reading(OTHER_DEVICE, "hum", 99, 500), 0);
    harness.processElement(reading(DEVICE, "temp", 29, 100), 0);

    assertThat(harness.getBroadcastState(ThresholdEvaluator.THRESHOLD_TOMBSTONES).contains(HUM))
        .isTrue();
    assertThat(alerts())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.eventType).isEqualTo("resolved");
              assertThat(a.id).isEqualTo(alertId(MAX, DEVICE, "temp", 30, micros(1)));
            });
  }

  private void restore(boolean rocksDb, Duration after, String version) throws Exception {
    harness = EvaluatorSnapshotFixture.harness(SETTINGS, ThresholdEvaluator.BROADCAST_STATES);
    if (rocksDb) {
      harness.setStateBackend(new EmbeddedRocksDBStateBackend());
    }
    long now = WRITTEN_AT_MS + after.toMillis();
    harness.setProcessingTime(now);
    harness.setStateTtlProcessingTime(now);
    harness.initializeState(
        EvaluatorSnapshotFixture.read(
            "c5307f2".equals(version)
                ? EvaluatorSnapshotFixture.RESOURCE_C5307F2
                : EvaluatorSnapshotFixture.RESOURCE));
    harness.open();
  }

  private static String alertId(
      String thresholdId, String device, String key, double value, long startMicros) {
    Threshold threshold = new Threshold();
    threshold.thresholdId = thresholdId;
    threshold.deviceId = device;
    threshold.key = key;
    threshold.value = value;
    return ThresholdEvaluator.alertId(threshold, startMicros);
  }

  private static <K> List<K> keys(Iterable<? extends java.util.Map.Entry<K, ?>> entries) {
    List<K> keys = new ArrayList<>();
    entries.forEach(e -> keys.add(e.getKey()));
    return keys;
  }

  private List<AlertEvent> alerts() {
    List<AlertEvent> alerts = new ArrayList<>();
    var side = harness.getSideOutput(ThresholdEvaluator.ALERTS);
    if (side != null) {
      for (Object record : side) {
        alerts.add(((StreamRecord<AlertEvent>) record).getValue());
      }
    }
    return alerts;
  }
}
