package io.placebrain.collector.thresholds;

import io.placebrain.collector.control.ControlEvent;
import io.placebrain.collector.control.ControlEventType;
import io.placebrain.collector.telemetry.Reading;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.SavepointType;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A savepoint (canonical format, RocksDB state backend) of the evaluator operator as a released job
 * writes it, kept as a test resource so every later version must restore it (savepoints survive
 * upgrades).
 *
 * <p>The snapshot {@link #RESOURCE} was written by {@link #write()} with the evaluator of commit
 * 56b151c (before threshold tombstones): four thresholds on three devices, one threshold created
 * and deleted, one device deleted (a device tombstone), an active alert, a violation still shorter
 * than the minimum duration, and the newest-evaluated times of three sensors. Never rewrite it with
 * newer code: add a new fixture next to it instead. To write one:
 *
 * <pre>
 * ./mvnw -pl job -am verify -Dtest=EvaluatorSnapshotFixture -Dcollector.write-fixture=true \
 *     -Dsurefire.failIfNoSpecifiedTests=false -DskipITs
 * </pre>
 */
class EvaluatorSnapshotFixture {

  static final String RESOURCE = "/io/placebrain/collector/thresholds/evaluator-56b151c.snapshot";

  /**
   * The same scenario written by the evaluator of commit c5307f2 (threshold tombstones, alert state
   * without a TTL), the version before user resolves reached the job; written by {@link
   * #writeC5307f2()} with {@code -Dcollector.write-fixture=c5307f2}.
   */
  static final String RESOURCE_C5307F2 =
      "/io/placebrain/collector/thresholds/evaluator-c5307f2.snapshot";

  static final String PLACE = "6f1c7a3e-4b8d-4e8a-9c1d-2f3a4b5c6d7e";
  static final String SENSOR = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

  /** Has {@link #MAX} (active alert since second 1, raised at 61) and {@link #MIN}. */
  static final String DEVICE = "0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

  /** Has {@link #HUM}, violated since second 10, shorter than the minimum duration. */
  static final String OTHER_DEVICE = "1c6f2a3b-4d5e-4f60-9bac-1d2e3f4a5b6c";

  /** Deleted (with its threshold {@link #GONE} and an active alert) at {@link #WRITTEN_AT_MS}. */
  static final String DELETED_DEVICE = "2d7a3b4c-5e6f-4a71-8bcd-2e3f4a5b6c7d";

  static final String MAX = "aaaaaaaa-0000-4000-8000-000000000001";
  static final String MIN = "aaaaaaaa-0000-4000-8000-000000000002";
  static final String HUM = "aaaaaaaa-0000-4000-8000-000000000003";
  static final String GONE = "aaaaaaaa-0000-4000-8000-000000000004";

  /** Created on {@link #OTHER_DEVICE} and deleted again before the snapshot. */
  static final String DELETED_THRESHOLD = "aaaaaaaa-0000-4000-8000-000000000005";

  /** Processing time and state-TTL time when the snapshot was taken. */
  static final long WRITTEN_AT_MS = 1_767_225_600_000L;

  /** The settings of the job that wrote the snapshot: one minute minimum duration. */
  static final AlertSettings SETTINGS =
      new AlertSettings(0, Duration.ofSeconds(60), Duration.ofDays(7), Duration.ofDays(30));

  /** The broadcast states of the job that wrote the snapshot. */
  static final List<MapStateDescriptor<?, ?>> BROADCAST_STATES_56B151C =
      List.of(
          ThresholdEvaluator.THRESHOLDS_BY_SENSOR,
          ThresholdEvaluator.SENSOR_BY_THRESHOLD,
          ThresholdEvaluator.TOMBSTONES);

  /** The broadcast states of the job of commit c5307f2. */
  static final List<MapStateDescriptor<?, ?>> BROADCAST_STATES_C5307F2 =
      List.of(
          ThresholdEvaluator.THRESHOLDS_BY_SENSOR,
          ThresholdEvaluator.SENSOR_BY_THRESHOLD,
          ThresholdEvaluator.TOMBSTONES,
          ThresholdEvaluator.THRESHOLD_TOMBSTONES);

  @Test
  @EnabledIfSystemProperty(named = "collector.write-fixture", matches = "true")
  void write() throws Exception {
    write(BROADCAST_STATES_56B151C, RESOURCE);
  }

  @Test
  @EnabledIfSystemProperty(named = "collector.write-fixture", matches = "c5307f2")
  void writeC5307f2() throws Exception {
    write(BROADCAST_STATES_C5307F2, RESOURCE_C5307F2);
  }

  private static void write(List<MapStateDescriptor<?, ?>> broadcastStates, String resource)
      throws Exception {
    try (KeyedBroadcastOperatorTestHarness<String, Reading, ControlEvent, Reading> harness =
        harness(SETTINGS, broadcastStates)) {
      harness.setStateBackend(new EmbeddedRocksDBStateBackend()); // the production backend
      harness.setProcessingTime(WRITTEN_AT_MS);
      harness.setStateTtlProcessingTime(WRITTEN_AT_MS);
      harness.open();
      harness.processBroadcastElement(threshold(MAX, DEVICE, "temp", "max", 30), 0);
      harness.processBroadcastElement(threshold(MIN, DEVICE, "temp", "min", 10), 0);
      harness.processBroadcastElement(threshold(HUM, OTHER_DEVICE, "hum", "max", 80), 0);
      harness.processBroadcastElement(threshold(GONE, DELETED_DEVICE, "temp", "max", 5), 0);
      harness.processBroadcastElement(
          threshold(DELETED_THRESHOLD, OTHER_DEVICE, "co2", "max", 1000), 0);
      harness.processBroadcastElement(
          event(ControlEventType.THRESHOLD_DELETED, DELETED_THRESHOLD, OTHER_DEVICE, "co2"), 0);

      harness.processElement(reading(DEVICE, "temp", 31, 1), 0);
      harness.processElement(reading(DEVICE, "temp", 32, 61), 0); // raises the alert
      harness.processElement(reading(OTHER_DEVICE, "hum", 85, 10), 0); // not long enough yet
      harness.processElement(reading(DELETED_DEVICE, "temp", 9, 1), 0);
      harness.processElement(reading(DELETED_DEVICE, "temp", 9, 70), 0);
      ControlEvent deleted = new ControlEvent();
      deleted.type = ControlEventType.DEVICE_DELETED;
      deleted.deviceId = DELETED_DEVICE;
      deleted.placeId = PLACE;
      harness.processBroadcastElement(deleted, 0);

      OperatorSubtaskState snapshot =
          harness
              .snapshotWithLocalState(
                  1, WRITTEN_AT_MS, SavepointType.savepoint(SavepointFormatType.CANONICAL))
              .getJobManagerOwnedState();
      Path target =
          Path.of(System.getProperty("collector.fixture-dir", "src/test/resources"))
              .resolve(resource.substring(1));
      Files.createDirectories(target.getParent());
      OperatorSnapshotUtil.writeStateHandle(snapshot, target.toString());
    }
  }

  /** The snapshot, as a restore would read it. */
  static OperatorSubtaskState read() throws Exception {
    return read(RESOURCE);
  }

  static OperatorSubtaskState read(String resource) throws Exception {
    return OperatorSnapshotUtil.readStateHandle(
        Path.of(EvaluatorSnapshotFixture.class.getResource(resource).toURI()).toString());
  }

  static KeyedBroadcastOperatorTestHarness<String, Reading, ControlEvent, Reading> harness(
      AlertSettings settings, List<MapStateDescriptor<?, ?>> broadcastStates) throws Exception {
    return new KeyedBroadcastOperatorTestHarness<>(
        new CoBroadcastWithKeyedOperator<>(new ThresholdEvaluator(settings), broadcastStates),
        new DeviceKey(),
        Types.STRING,
        128,
        1,
        0);
  }

  static ControlEvent threshold(String id, String device, String key, String type, double value) {
    ControlEvent event = event(ControlEventType.THRESHOLD_CREATED, id, device, key);
    event.thresholdType = type;
    event.value = value;
    event.severity = "critical";
    return event;
  }

  static ControlEvent event(ControlEventType type, String id, String device, String key) {
    ControlEvent event = new ControlEvent();
    event.type = type;
    event.thresholdId = id;
    event.sensorId = SENSOR;
    event.deviceId = device;
    event.key = key;
    return event;
  }

  static Reading reading(String device, String key, double value, long second) {
    return new Reading(micros(second), UUID.fromString(device), UUID.fromString(PLACE), key, value);
  }

  static long micros(long second) {
    return 1_767_225_600_000_000L + second * 1_000_000L;
  }
}
