package io.placebrain.collector.thresholds;

import static org.assertj.core.api.Assertions.assertThat;

import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.control.ControlEvent;
import io.placebrain.collector.control.ControlEventType;
import io.placebrain.collector.telemetry.Reading;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every alert lifecycle transition, in Flink's keyed broadcast operator harness. */
class ThresholdEvaluatorTest {

  private static final String PLACE = "6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e";
  private static final String DEVICE = "0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
  private static final String OTHER_DEVICE = "1c6f2a3b-4d5e-4f60-9bac-1d2e3f4a5b6c";
  private static final String SENSOR = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
  private static final String MAX = "aaaaaaaa-0000-4000-8000-000000000001";
  private static final String MIN = "aaaaaaaa-0000-4000-8000-000000000002";

  private KeyedBroadcastOperatorTestHarness<String, Reading, ControlEvent, Reading> harness;

  @AfterEach
  void close() throws Exception {
    if (harness != null) {
      harness.close();
    }
  }

  @Test
  void alertIsCreatedOnEnteringViolationAndResolvedOnLeavingIt() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);

    reading(DEVICE, "temp", 25, 1);
    reading(DEVICE, "temp", 31, 2);
    reading(DEVICE, "temp", 35, 3); // still violating: nothing new
    reading(DEVICE, "temp", 29, 4);

    List<AlertEvent> alerts = alerts();
    assertThat(alerts).extracting(a -> a.eventType).containsExactly("created", "resolved");
    AlertEvent created = alerts.get(0);
    assertThat(created.id).isEqualTo(alerts.get(1).id);
    assertThat(created.value).isEqualTo(31);
    assertThat(created.thresholdValue).isEqualTo(30);
    assertThat(created.thresholdType).isEqualTo("max");
    assertThat(created.severity).isEqualTo("critical");
    assertThat(created.placeId).isEqualTo(PLACE);
    assertThat(created.sensorId).isEqualTo(SENSOR);
    assertThat(created.createdAtMicros).isEqualTo(micros(2));
    assertThat(created.resolvedAtMicros).isNull();
    assertThat(alerts.get(1).resolvedAtMicros).isEqualTo(micros(4));
    assertThat(stored()).hasSize(4);
    assertThat(keysWithState("alert-state-by-threshold"))
        .as("alert state holds only sensors in violation")
        .isEmpty();
  }

  @Test
  void minThresholdIsViolatedBelowItsValueAndBothThresholdsOfASensorAreEvaluated()
      throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    threshold(MIN, DEVICE, "temp", "min", 10);

    reading(DEVICE, "temp", 9, 1);
    reading(DEVICE, "temp", 10, 2);
    reading(DEVICE, "temp", 40, 3);

    assertThat(alerts())
        .extracting(a -> a.eventType + ":" + a.thresholdType)
        .containsExactly("created:min", "resolved:min", "created:max");
  }

  @Test
  void aNewViolationIsANewAlertWithItsOwnId() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);

    reading(DEVICE, "temp", 31, 1);
    reading(DEVICE, "temp", 20, 2);
    reading(DEVICE, "temp", 32, 3);

    List<AlertEvent> alerts = alerts();
    assertThat(alerts)
        .extracting(a -> a.eventType)
        .containsExactly("created", "resolved", "created");
    assertThat(alerts.get(2).id).isNotEqualTo(alerts.get(0).id);
  }

  @Test
  void alertIdsDependOnlyOnThresholdSensorAndViolationStart() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 7);
    String first = alerts().get(0).id;
    harness.close();

    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 7);

    assertThat(alerts().get(0).id).isEqualTo(first);
  }

  @Test
  void aUserResolveClosesTheAlertWithoutASecondResolvedAndALaterViolationOpensANewOne()
      throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 1);
    String first = alerts().get(0).id;

    resolvedByUser(first, MAX, DEVICE);
    reading(DEVICE, "temp", 35, 2); // still in violation: no new alert yet
    reading(DEVICE, "temp", 20, 3); // leaves it: no second "resolved"
    reading(DEVICE, "temp", 32, 4); // a new violation: a new alert

    List<AlertEvent> alerts = alerts();
    assertThat(alerts).extracting(a -> a.eventType).containsExactly("created", "created");
    assertThat(alerts.get(1).id).isNotEqualTo(first);
    assertThat(alerts.get(1).createdAtMicros).isEqualTo(micros(4));
  }

  @Test
  void aStaleResolveOfAnOlderAlertLeavesTheNewerOneActive() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 1);
    reading(DEVICE, "temp", 20, 2);
    reading(DEVICE, "temp", 32, 3);
    String older = alerts().get(0).id;

    resolvedByUser(older, MAX, DEVICE);
    reading(DEVICE, "temp", 20, 4);

    List<AlertEvent> alerts = alerts();
    assertThat(alerts)
        .extracting(a -> a.eventType)
        .containsExactly("created", "resolved", "created", "resolved");
    assertThat(alerts.get(3).id).isEqualTo(alerts.get(2).id).isNotEqualTo(older);
  }

  @Test
  void aResolveReadBeforeAReplayReachesItsAlertKeepsThatAlertClosed() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 1);
    String resolved = alerts().get(0).id;
    harness.close();

    // A start without state: the control topics are read first, then telemetry is replayed.
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    resolvedByUser(resolved, MAX, DEVICE);
    reading(DEVICE, "temp", 31, 1);
    reading(DEVICE, "temp", 20, 2);
    reading(DEVICE, "temp", 33, 3);

    List<AlertEvent> alerts = alerts();
    assertThat(alerts).extracting(a -> a.eventType).containsExactly("created");
    assertThat(alerts.get(0).id).isNotEqualTo(resolved);
    assertThat(alerts.get(0).createdAtMicros).isEqualTo(micros(3));
  }

  @Test
  void aResolveOfAnotherDevicesAlertOrAnUnknownAlertChangesNothing() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 1);
    String active = alerts().get(0).id;

    resolvedByUser(active, MAX, OTHER_DEVICE);
    resolvedByUser(UUID.randomUUID().toString(), MAX, DEVICE);
    reading(DEVICE, "temp", 20, 2);

    assertThat(alerts()).extracting(a -> a.eventType).containsExactly("created", "resolved");
  }

  @Test
  void aUserResolvedAlertStaysClosedWhenItsThresholdIsDeleted() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 1);
    resolvedByUser(alerts().get(0).id, MAX, DEVICE);

    harness.processBroadcastElement(
        thresholdEvent(ControlEventType.THRESHOLD_DELETED, MAX, DEVICE, "temp"), 0);

    assertThat(alerts()).extracting(a -> a.eventType).containsExactly("created");
    assertThat(keysWithState("alert-state-by-threshold")).isEmpty();
  }

  @Test
  void olderReadingsAreStoredButDoNotFlipState() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);

    reading(DEVICE, "temp", 35, 10);
    reading(DEVICE, "temp", 20, 5); // late: would resolve, but is older than the newest
    reading(DEVICE, "temp", 36, 11);

    assertThat(alerts()).extracting(a -> a.eventType).containsExactly("created");
    assertThat(stored()).hasSize(3);
  }

  @Test
  void readingBeforeItsThresholdRaisesNothing() throws Exception {
    open(AlertSettings.DEFAULTS);
    reading(DEVICE, "temp", 99, 1);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 98, 2);

    assertThat(alerts()).extracting(a -> a.createdAtMicros).containsExactly(micros(2));
  }

  @Test
  void replacedThresholdAppliesItsNewValue() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    threshold(MAX, DEVICE, "temp", "max", 50); // same id: an update

    reading(DEVICE, "temp", 40, 1);
    reading(DEVICE, "temp", 51, 2);

    assertThat(alerts()).singleElement().satisfies(a -> assertThat(a.thresholdValue).isEqualTo(50));
    assertThat(
            harness
                .getBroadcastState(ThresholdEvaluator.THRESHOLDS_BY_SENSOR)
                .get(DEVICE + "/temp"))
        .hasSize(1);
  }

  @Test
  void deletedThresholdResolvesItsActiveAlert() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 1);

    ControlEvent deleted = thresholdEvent(ControlEventType.THRESHOLD_DELETED, MAX, DEVICE, "temp");
    deleted.timestamp = 5_000;
    harness.processBroadcastElement(deleted, 0);
    reading(DEVICE, "temp", 99, 2);

    List<AlertEvent> alerts = alerts();
    assertThat(alerts).extracting(a -> a.eventType).containsExactly("created", "resolved");
    assertThat(alerts.get(1).resolvedAtMicros).isEqualTo(5_000_000L);
  }

  @Test
  void aDeletionReadBeforeItsCreationKeepsTheThresholdDeleted() throws Exception {
    // A start without state replays both threshold topics: the deletion can come first.
    open(AlertSettings.DEFAULTS);
    harness.processBroadcastElement(
        thresholdEvent(ControlEventType.THRESHOLD_DELETED, MAX, DEVICE, "temp"), 0);
    threshold(MAX, DEVICE, "temp", "max", 30);
    threshold(MAX, DEVICE, "temp", "max", 20); // an update read late: still deleted
    reading(DEVICE, "temp", 99, 1);

    assertThat(alerts()).isEmpty();
    assertThat(harness.getBroadcastState(ThresholdEvaluator.SENSOR_BY_THRESHOLD).contains(MAX))
        .isFalse();
    assertThat(harness.getBroadcastState(ThresholdEvaluator.THRESHOLDS_BY_SENSOR).entries())
        .isEmpty();
    assertThat(stored()).hasSize(1);
  }

  @Test
  void aDeletedThresholdIsRememberedForTheTombstoneRetention() throws Exception {
    open(new AlertSettings(0, Duration.ZERO, Duration.ofMinutes(1), Duration.ofDays(30)));
    threshold(MAX, DEVICE, "temp", "max", 30);
    harness.processBroadcastElement(
        thresholdEvent(ControlEventType.THRESHOLD_DELETED, MAX, DEVICE, "temp"), 0);
    harness.setProcessingTime(Duration.ofSeconds(59).toMillis());
    threshold(MAX, DEVICE, "temp", "max", 30);
    assertThat(harness.getBroadcastState(ThresholdEvaluator.THRESHOLD_TOMBSTONES).contains(MAX))
        .isTrue();
    reading(DEVICE, "temp", 31, 1);
    assertThat(alerts()).isEmpty();

    harness.setProcessingTime(Duration.ofMinutes(2).toMillis());
    threshold(MIN, OTHER_DEVICE, "temp", "min", 0); // any control event forgets old tombstones
    assertThat(harness.getBroadcastState(ThresholdEvaluator.THRESHOLD_TOMBSTONES).entries())
        .isEmpty();
  }

  @Test
  void anActiveAlertOutlivesTheIdleSensorRetention() throws Exception {
    open(new AlertSettings(0, Duration.ZERO, Duration.ofDays(7), Duration.ofDays(1)));
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 1);

    harness.setStateTtlProcessingTime(Duration.ofDays(3).toMillis()); // silent for 3 days
    reading(DEVICE, "temp", 33, 3 * 86_400); // back, still in violation: the same alert
    reading(DEVICE, "temp", 20, 3 * 86_400 + 1);

    List<AlertEvent> alerts = alerts();
    assertThat(alerts).extracting(a -> a.eventType).containsExactly("created", "resolved");
    assertThat(alerts.get(1).id).isEqualTo(alerts.get(0).id);
  }

  @Test
  void aViolationShorterThanTheMinimumDurationStartsAgainAfterASilence() throws Exception {
    open(new AlertSettings(0, Duration.ofSeconds(60), Duration.ofDays(7), Duration.ofDays(1)));
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 1);

    harness.setStateTtlProcessingTime(Duration.ofDays(3).toMillis());
    reading(DEVICE, "temp", 31, 3 * 86_400); // 3 days later: the violation begins again
    reading(DEVICE, "temp", 31, 3 * 86_400 + 59);
    assertThat(alerts()).isEmpty();
    reading(DEVICE, "temp", 32, 3 * 86_400 + 60);

    assertThat(alerts())
        .singleElement()
        .satisfies(a -> assertThat(a.createdAtMicros).isEqualTo(micros(3 * 86_400 + 60)));
  }

  @Test
  void deletedDeviceLosesThresholdsAndStateAndItsLaterReadingsAreDropped() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    threshold(MIN, OTHER_DEVICE, "temp", "min", 0);
    reading(DEVICE, "temp", 31, 1);

    harness.processBroadcastElement(deviceDeleted(DEVICE), 0);
    reading(DEVICE, "temp", 50, 2); // in flight after the deletion
    marker(DEVICE);
    reading(OTHER_DEVICE, "temp", 5, 2);

    assertThat(alerts()).extracting(a -> a.eventType).containsExactly("created");
    List<Reading> out = stored();
    assertThat(out)
        .filteredOn(r -> r.deviceDeletion)
        .extracting(Reading::deviceId)
        .containsExactly(UUID.fromString(DEVICE));
    assertThat(out)
        .filteredOn(r -> !r.deviceDeletion)
        .extracting(r -> r.deviceId().toString())
        .containsExactly(DEVICE, OTHER_DEVICE);
    assertThat(
            harness
                .getBroadcastState(ThresholdEvaluator.THRESHOLDS_BY_SENSOR)
                .contains(DEVICE + "/temp"))
        .isFalse();
    assertThat(harness.getBroadcastState(ThresholdEvaluator.TOMBSTONES).contains(DEVICE)).isTrue();
    assertThat(keysWithState("alert-state-by-threshold")).isEmpty();
    assertThat(keysWithState("last-evaluated-micros"))
        .as("only the other device's state is left")
        .containsExactly(OTHER_DEVICE);
  }

  @Test
  void theBroadcastDeletionTouchesNoKeyedStateTheMarkerClearsItsDeviceOnly() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    threshold(MIN, DEVICE, "hum", "min", 10);
    threshold(MAX.replace('1', '3'), OTHER_DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 31, 1);
    reading(OTHER_DEVICE, "temp", 31, 1);

    harness.processBroadcastElement(deviceDeleted(DEVICE), 0);
    assertThat(harness.getBroadcastState(ThresholdEvaluator.SENSOR_BY_THRESHOLD).entries())
        .extracting(e -> e.getKey())
        .containsExactly(MAX.replace('1', '3'));
    assertThat(keysWithState("alert-state-by-threshold"))
        .as("keyed state waits for the marker")
        .containsExactlyInAnyOrder(DEVICE, OTHER_DEVICE);
    assertThat(stored()).noneMatch(r -> r.deviceDeletion);

    marker(DEVICE);
    assertThat(keysWithState("alert-state-by-threshold")).containsExactly(OTHER_DEVICE);
    assertThat(keysWithState("last-evaluated-micros")).containsExactly(OTHER_DEVICE);
    assertThat(stored()).filteredOn(r -> r.deviceDeletion).hasSize(1);
  }

  @Test
  void readingsOfSensorsWithoutThresholdsAreStoredWithoutWritingKeyedState() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);

    reading(DEVICE, "hum", 20, 1);
    reading(OTHER_DEVICE, "temp", 31, 1);

    assertThat(stored()).hasSize(2);
    assertThat(keysWithState("last-evaluated-micros")).isEmpty();

    reading(DEVICE, "temp", 20, 2);

    assertThat(stored()).hasSize(3);
    assertThat(keysWithState("last-evaluated-micros")).containsExactly(DEVICE);
  }

  @Test
  void aMarkerAheadOfItsBroadcastDeletionStillDropsTheDevicesLaterReadings() throws Exception {
    open(AlertSettings.DEFAULTS);
    threshold(MAX, DEVICE, "temp", "max", 30);
    reading(DEVICE, "temp", 20, 1);

    marker(DEVICE); // the two paths from the control task are not ordered with each other
    reading(DEVICE, "temp", 31, 2);
    reading(DEVICE, "hum", 31, 2);
    harness.processBroadcastElement(deviceDeleted(DEVICE), 0);
    reading(DEVICE, "temp", 31, 3);

    assertThat(alerts()).isEmpty();
    assertThat(stored()).extracting(r -> r.deviceDeletion).containsExactly(false, true);
    assertThat(harness.getBroadcastState(ThresholdEvaluator.THRESHOLDS_BY_SENSOR).entries())
        .isEmpty();
  }

  @Test
  void aBulkDeletionCostsTheSameHoweverManyDevicesTheStateHolds() throws Exception {
    // 1,000 of 50,000 devices: a scan of all keyed state per deleted device would visit 10^8.
    open(AlertSettings.DEFAULTS);
    List<String> devices = new ArrayList<>();
    for (int i = 0; i < 50_000; i++) {
      String device = UUID.randomUUID().toString();
      devices.add(device);
      threshold(UUID.randomUUID().toString(), device, "temp", "max", 30);
      reading(device, "temp", 31, 1);
    }
    ControlEvent bulk = new ControlEvent();
    bulk.type = ControlEventType.DEVICES_BULK_DELETED;
    bulk.deviceIds = devices.subList(0, 500).toArray(new String[0]);

    // What it costs is the benchmark's to measure; here: it finishes, and touches only these.
    harness.processBroadcastElement(bulk, 0);
    for (String device : devices.subList(500, 1_000)) { // and as many one by one
      harness.setProcessingTime(harness.getProcessingTime() + 100);
      harness.processBroadcastElement(deviceDeleted(device), 0);
    }
    for (String device : devices.subList(0, 1_000)) {
      marker(device);
    }

    assertThat(harness.getBroadcastState(ThresholdEvaluator.SENSOR_BY_THRESHOLD).entries())
        .hasSize(49_000);
    assertThat(keysWithState("alert-state-by-threshold")).hasSize(49_000);
    assertThat(stored()).filteredOn(r -> r.deviceDeletion).hasSize(1_000);
  }

  @Test
  void bulkDeletionDeletesEveryDeviceAndTombstonesExpire() throws Exception {
    open(new AlertSettings(0, Duration.ZERO, Duration.ofMinutes(1), Duration.ofDays(30)));
    ControlEvent bulk = new ControlEvent();
    bulk.type = ControlEventType.DEVICES_BULK_DELETED;
    bulk.deviceIds = new String[] {DEVICE, OTHER_DEVICE};
    harness.processBroadcastElement(bulk, 0);
    marker(DEVICE);
    marker(OTHER_DEVICE);
    reading(DEVICE, "temp", 1, 1);
    reading(OTHER_DEVICE, "temp", 1, 1);

    assertThat(stored()).allSatisfy(r -> assertThat(r.deviceDeletion).isTrue()).hasSize(2);
    assertThat(harness.getBroadcastState(ThresholdEvaluator.TOMBSTONES).entries()).hasSize(2);

    harness.setProcessingTime(Duration.ofMinutes(2).toMillis());
    threshold(MAX, UUID.randomUUID().toString(), "temp", "max", 1); // any control event
    assertThat(harness.getBroadcastState(ThresholdEvaluator.TOMBSTONES).entries()).isEmpty();
  }

  @Test
  void deadbandKeepsAHoveringValueFromResolving() throws Exception {
    open(new AlertSettings(2, Duration.ZERO, Duration.ofDays(7), Duration.ofDays(30)));
    threshold(MAX, DEVICE, "temp", "max", 30);

    reading(DEVICE, "temp", 31, 1);
    reading(DEVICE, "temp", 29, 2); // below 30 but within the 2-degree band: still active
    reading(DEVICE, "temp", 30.5, 3);
    reading(DEVICE, "temp", 28, 4); // cleared by the band

    assertThat(alerts()).extracting(a -> a.eventType).containsExactly("created", "resolved");
    assertThat(alerts().get(1).resolvedAtMicros).isEqualTo(micros(4));
  }

  @Test
  void minimumDurationIgnoresShortViolations() throws Exception {
    open(new AlertSettings(0, Duration.ofSeconds(60), Duration.ofDays(7), Duration.ofDays(30)));
    threshold(MAX, DEVICE, "temp", "max", 30);

    reading(DEVICE, "temp", 31, 0);
    reading(DEVICE, "temp", 31, 30);
    reading(DEVICE, "temp", 20, 40); // a 40-second spike: nothing
    reading(DEVICE, "temp", 31, 100);
    reading(DEVICE, "temp", 32, 159); // 59 s
    reading(DEVICE, "temp", 33, 160); // 60 s: raised now, dated now, id from the start

    List<AlertEvent> alerts = alerts();
    assertThat(alerts)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.createdAtMicros).isEqualTo(micros(160));
              assertThat(a.value).isEqualTo(33);
            });
  }

  @Test
  void stateSurvivesRestoreAtHigherAndLowerParallelism() throws Exception {
    // Five devices over parallelism 1, each with an active alert.
    List<String> devices = new ArrayList<>();
    open(AlertSettings.DEFAULTS, 1, 0);
    harness.open();
    for (int i = 0; i < 5; i++) {
      String device = UUID.randomUUID().toString();
      devices.add(device);
      threshold("bbbbbbbb-0000-4000-8000-00000000000" + i, device, "temp", "max", 30);
      reading(device, "temp", 31, 1);
    }
    OperatorSubtaskState snapshot = harness.snapshot(1, 1);
    harness.close();

    // Scale up to 3: every instance has every threshold; each device's alert is on one of them.
    List<OperatorSubtaskState> scaledUp = new ArrayList<>();
    int resolvedAcrossInstances = 0;
    for (int subtask = 0; subtask < 3; subtask++) {
      open(AlertSettings.DEFAULTS, 3, subtask);
      harness.initializeState(
          AbstractStreamOperatorTestHarness.repartitionOperatorState(snapshot, 128, 1, 3, subtask));
      harness.open();
      assertThat(harness.getBroadcastState(ThresholdEvaluator.SENSOR_BY_THRESHOLD).entries())
          .hasSize(5);
      for (String device : devices) {
        if (owns(device, 3, subtask)) {
          reading(device, "temp", 20, 2);
        }
      }
      resolvedAcrossInstances += alerts().size();
      assertThat(alerts()).allSatisfy(a -> assertThat(a.eventType).isEqualTo("resolved"));
      scaledUp.add(harness.snapshot(2, 2));
      harness.close();
    }
    assertThat(resolvedAcrossInstances).as("each active alert resolved exactly once").isEqualTo(5);

    // Scale back down to 2: thresholds still everywhere, nothing active any more.
    OperatorSubtaskState merged =
        AbstractStreamOperatorTestHarness.repackageState(
            scaledUp.toArray(new OperatorSubtaskState[0]));
    for (int subtask = 0; subtask < 2; subtask++) {
      open(AlertSettings.DEFAULTS, 2, subtask);
      harness.initializeState(
          AbstractStreamOperatorTestHarness.repartitionOperatorState(merged, 128, 3, 2, subtask));
      harness.open();
      assertThat(harness.getBroadcastState(ThresholdEvaluator.SENSOR_BY_THRESHOLD).entries())
          .hasSize(5);
      for (String device : devices) {
        if (owns(device, 2, subtask)) {
          reading(device, "temp", 35, 3);
        }
      }
      assertThat(alerts()).allSatisfy(a -> assertThat(a.eventType).isEqualTo("created"));
      harness.close();
    }
    harness = null;
  }

  @Test
  void theGaugesCountWhatARestoredInstanceHoldsBeforeAnyNewEvent() throws Exception {
    open(AlertSettings.DEFAULTS);
    String kept = UUID.randomUUID().toString();
    String deleted = UUID.randomUUID().toString();
    threshold("cccccccc-0000-4000-8000-000000000001", kept, "temp", "max", 30);
    threshold("cccccccc-0000-4000-8000-000000000002", kept, "co2", "max", 1000);
    threshold("cccccccc-0000-4000-8000-000000000003", deleted, "temp", "max", 30);
    harness.processBroadcastElement(deviceDeleted(deleted), 0);
    harness.processBroadcastElement(
        thresholdEvent(
            ControlEventType.THRESHOLD_DELETED,
            "cccccccc-0000-4000-8000-000000000002",
            kept,
            "co2"),
        0);
    OperatorSubtaskState snapshot = harness.snapshot(1, 1);
    harness.close();

    // Restored at parallelism 2 (a rescale; a failover or savepoint restore is the same path).
    for (int subtask = 0; subtask < 2; subtask++) {
      open(AlertSettings.DEFAULTS, 2, subtask);
      harness.initializeState(
          AbstractStreamOperatorTestHarness.repartitionOperatorState(snapshot, 128, 1, 2, subtask));
      harness.open();
      ThresholdEvaluator evaluator = evaluator();
      assertThat(evaluator.thresholdsHeld()).isOne();
      assertThat(evaluator.tombstonesHeld()).isOne();
      assertThat(evaluator.thresholdTombstonesHeld()).isOne();
      harness.close();
    }
    harness = null;
  }

  @SuppressWarnings("unchecked")
  private ThresholdEvaluator evaluator() {
    return (ThresholdEvaluator)
        ((CoBroadcastWithKeyedOperator<String, Reading, ControlEvent, Reading>)
                harness.getOperator())
            .getUserFunction();
  }

  private static ControlEvent deviceDeleted(String device) {
    ControlEvent deleted = new ControlEvent();
    deleted.type = ControlEventType.DEVICE_DELETED;
    deleted.deviceId = device;
    deleted.placeId = PLACE;
    return deleted;
  }

  /** The device's deletion marker on the keyed input, as {@link DeviceDeletionMarkers} makes it. */
  private void marker(String device) throws Exception {
    harness.processElement(Reading.deletionOf(UUID.fromString(device)), 0);
  }

  private List<String> keysWithState(String state) {
    List<String> keys = new ArrayList<>();
    harness
        .getOperator()
        .getKeyedStateBackend()
        .<org.apache.flink.runtime.state.VoidNamespace>getKeys(
            state, org.apache.flink.runtime.state.VoidNamespace.INSTANCE)
        .forEach(k -> keys.add((String) k));
    return keys;
  }

  private static boolean owns(String device, int parallelism, int subtask) {
    return org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignKeyToParallelOperator(
            device, 128, parallelism)
        == subtask;
  }

  private void open(AlertSettings settings) throws Exception {
    open(settings, 1, 0);
    harness.open();
  }

  private void open(AlertSettings settings, int parallelism, int subtask) throws Exception {
    harness =
        new KeyedBroadcastOperatorTestHarness<>(
            new CoBroadcastWithKeyedOperator<>(
                new ThresholdEvaluator(settings), ThresholdEvaluator.BROADCAST_STATES),
            new DeviceKey(),
            Types.STRING,
            128,
            parallelism,
            subtask);
  }

  private void threshold(String id, String device, String key, String type, double value)
      throws Exception {
    ControlEvent event = thresholdEvent(ControlEventType.THRESHOLD_CREATED, id, device, key);
    event.thresholdType = type;
    event.value = value;
    event.severity = "critical";
    harness.processBroadcastElement(event, 0);
  }

  /** A user's resolve, as the query service announces it. */
  private void resolvedByUser(String alertId, String thresholdId, String device) throws Exception {
    ControlEvent event = new ControlEvent();
    event.type = ControlEventType.ALERT_RESOLVED;
    event.alertId = alertId;
    event.thresholdId = thresholdId;
    event.deviceId = device;
    harness.processBroadcastElement(event, 0);
  }

  private static ControlEvent thresholdEvent(
      ControlEventType type, String id, String device, String key) {
    ControlEvent event = new ControlEvent();
    event.type = type;
    event.thresholdId = id;
    event.sensorId = SENSOR;
    event.deviceId = device;
    event.key = key;
    return event;
  }

  private void reading(String device, String key, double value, long second) throws Exception {
    harness.processElement(
        new Reading(micros(second), UUID.fromString(device), UUID.fromString(PLACE), key, value),
        second * 1000);
  }

  private static long micros(long second) {
    return 1_767_225_600_000_000L + second * 1_000_000L;
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

  private List<Reading> stored() {
    return harness.extractOutputValues();
  }
}
