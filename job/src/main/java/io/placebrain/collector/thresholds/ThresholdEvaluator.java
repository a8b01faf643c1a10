package io.placebrain.collector.thresholds;

import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.control.ControlEvent;
import io.placebrain.collector.telemetry.Reading;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Evaluates readings against the thresholds held in broadcast state and runs each alert's lifecycle
 * in keyed state (keyed by device).
 *
 * <ul>
 *   <li>Broadcast state: thresholds by sensor ({@code device/key}) and by id, and tombstones of
 *       deleted devices. Control events come from a single-channel source, so every parallel
 *       instance applies them in the same order and holds the same state.
 *   <li>An alert is created when a sensor enters violation of a threshold (and, with a minimum
 *       duration, has stayed there long enough) and resolved when it leaves it; a sensor that stays
 *       in violation raises nothing more. A reading older than the newest one evaluated for its
 *       sensor is stored but does not change alert state.
 *   <li>A reading is evaluated against what is known when it arrives: one that arrives before its
 *       threshold raises nothing. The newest evaluated time is kept only for sensors with a
 *       threshold, so a threshold's first reading counts as one after a silence.
 *   <li>Alert ids are name-based UUIDs of threshold, device, key and the time the violation began,
 *       so a replay after a failure produces the same ids.
 *   <li>A deleted threshold resolves its active alerts, and its id is remembered so a creation read
 *       after the deletion does not revive it. A deleted device loses its thresholds (on the
 *       broadcast side) and its alert state (when its deletion marker arrives on the keyed side,
 *       from {@link DeviceDeletionMarkers}); its readings still in flight are dropped, and the
 *       marker goes on down the readings path so its stored readings and alerts are deleted once
 *       everything before it is committed.
 *   <li>An alert a user resolved (through the query service, announced on the resolved-alerts
 *       topic) is closed without a {@code resolved} event: its sensor must leave violation before a
 *       later violation opens a new alert. A resolve matches one alert id only, so a stale resolve
 *       never closes a newer alert; resolved ids are remembered for the tombstone retention, so an
 *       alert a replay re-creates after its resolve was read stays closed.
 * </ul>
 *
 * <p>Main output: readings to store (and deletion markers). Side output {@link #ALERTS}: alert
 * events.
 */
public final class ThresholdEvaluator
    extends KeyedBroadcastProcessFunction<String, Reading, ControlEvent, Reading>
    implements CheckpointedFunction {

  public static final OutputTag<AlertEvent> ALERTS = new OutputTag<>("alerts") {};

  /** Thresholds of each sensor ({@code device/key}). */
  public static final MapStateDescriptor<String, Threshold[]> THRESHOLDS_BY_SENSOR =
      new MapStateDescriptor<>(
          "thresholds-by-sensor",
          Types.STRING,
          Types.OBJECT_ARRAY(TypeInformation.of(Threshold.class)));

  /** The sensor of each threshold id, to replace or delete a threshold by id. */
  public static final MapStateDescriptor<String, String> SENSOR_BY_THRESHOLD =
      new MapStateDescriptor<>("sensor-by-threshold", Types.STRING, Types.STRING);

  /** Deleted devices and when (processing time, ms) they were deleted. */
  public static final MapStateDescriptor<String, Long> TOMBSTONES =
      new MapStateDescriptor<>("device-tombstones", Types.STRING, Types.LONG);

  /**
   * Deleted threshold ids and when (processing time, ms) they were deleted. The threshold topics
   * are separate partitions, so a deletion can be read before its creation (a start without state
   * replays both topics): a created event for a remembered id is ignored.
   */
  public static final MapStateDescriptor<String, Long> THRESHOLD_TOMBSTONES =
      new MapStateDescriptor<>("threshold-tombstones", Types.STRING, Types.LONG);

  /**
   * Alert ids users resolved and when (processing time, ms) the resolve was read. The resolve can
   * be read before the evaluator raises the alert (a replay re-creates it with the same id): that
   * alert is then raised closed.
   */
  public static final MapStateDescriptor<String, Long> RESOLVED_BY_USERS =
      new MapStateDescriptor<>("alerts-resolved-by-users", Types.STRING, Types.LONG);

  /** Every broadcast state of the evaluator, for {@code DataStream#broadcast}. */
  public static final List<MapStateDescriptor<?, ?>> BROADCAST_STATES =
      List.of(
          THRESHOLDS_BY_SENSOR,
          SENSOR_BY_THRESHOLD,
          TOMBSTONES,
          THRESHOLD_TOMBSTONES,
          RESOLVED_BY_USERS);

  private final AlertSettings settings;

  private transient MapStateDescriptor<String, SensorAlertState> alertStateDescriptor;
  private transient MapState<String, Long> lastEvaluatedMicros;
  private transient MapState<String, SensorAlertState> alertStates;

  /** Set when the device's deletion marker passed (keyed tombstone, kept for the retention). */
  private transient ValueState<Long> deletedAt;

  /** The threshold ids of each device: derived from broadcast state, built on first use. */
  private transient Map<String, Set<String>> thresholdIdsByDevice;

  private transient int thresholdCount;

  /** Processing time of the next removal of expired tombstones. */
  private transient long nextPruneAt;

  private transient Counter created;
  private transient Counter resolved;
  private transient Counter droppedForDeletedDevices;
  private transient Counter closedByUsers;
  private transient volatile int thresholdsHeld;
  private transient volatile int tombstonesHeld;
  private transient volatile int thresholdTombstonesHeld;

  public ThresholdEvaluator(AlertSettings settings) {
    this.settings = settings;
  }

  @Override
  public void open(OpenContext openContext) {
    StateTtlConfig idleSensors =
        StateTtlConfig.newBuilder(settings.idleSensorRetention())
            .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
            .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
            .build();
    // Sensors that stop reporting are forgotten after a while, so state does not grow forever.
    MapStateDescriptor<String, Long> lastEvaluatedDescriptor =
        new MapStateDescriptor<>("last-evaluated-micros", Types.STRING, Types.LONG);
    lastEvaluatedDescriptor.enableTimeToLive(idleSensors);
    // Alert state never expires: dropping an active alert would leave its row active while the
    // sensor, back in violation, opened a second one. It holds at most one entry per threshold
    // (of the device's own thresholds, which broadcast state holds anyway), and leaves when the
    // violation ends or the threshold or device is deleted. Versions up to 56b151c wrote this
    // state with a TTL; Flink migrates it on restore (ThresholdEvaluatorUpgradeTest).
    alertStateDescriptor =
        new MapStateDescriptor<>(
            "alert-state-by-threshold", Types.STRING, TypeInformation.of(SensorAlertState.class));
    lastEvaluatedMicros = getRuntimeContext().getMapState(lastEvaluatedDescriptor);
    alertStates = getRuntimeContext().getMapState(alertStateDescriptor);
    ValueStateDescriptor<Long> deletedAtDescriptor =
        new ValueStateDescriptor<>("device-deleted-at", Types.LONG);
    deletedAtDescriptor.enableTimeToLive(
        StateTtlConfig.newBuilder(settings.tombstoneRetention())
            .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
            .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
            .build());
    deletedAt = getRuntimeContext().getState(deletedAtDescriptor);

    var metrics = getRuntimeContext().getMetricGroup();
    created = metrics.counter("alertsCreated");
    resolved = metrics.counter("alertsResolved");
    droppedForDeletedDevices = metrics.counter("readingsOfDeletedDevicesDropped");
    closedByUsers = metrics.counter("alertsClosedByUsers");
    metrics.gauge("thresholdsHeld", () -> thresholdsHeld);
    metrics.gauge("tombstonesHeld", () -> tombstonesHeld);
    metrics.gauge("thresholdTombstonesHeld", () -> thresholdTombstonesHeld);
  }

  /**
   * Counts what the restored broadcast state holds, so the gauges are right from the first moment
   * after a failover, a savepoint restore or a rescale, not only after the next device event.
   */
  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    var store = context.getOperatorStateStore();
    thresholdsHeld = count(store.getBroadcastState(SENSOR_BY_THRESHOLD).entries());
    tombstonesHeld = count(store.getBroadcastState(TOMBSTONES).entries());
    thresholdTombstonesHeld = count(store.getBroadcastState(THRESHOLD_TOMBSTONES).entries());
  }

  private static int count(Iterable<?> entries) {
    int count = 0;
    for (Object ignored : entries) {
      count++;
    }
    return count;
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) {
    // Everything is in Flink's broadcast and keyed state.
  }

  /** The value of the gauge {@code thresholdsHeld}; for tests. */
  int thresholdsHeld() {
    return thresholdsHeld;
  }

  /** The value of the gauge {@code tombstonesHeld}; for tests. */
  int tombstonesHeld() {
    return tombstonesHeld;
  }

  /** The value of the gauge {@code thresholdTombstonesHeld}; for tests. */
  int thresholdTombstonesHeld() {
    return thresholdTombstonesHeld;
  }

  @Override
  public void processElement(Reading reading, ReadOnlyContext context, Collector<Reading> out)
      throws Exception {
    if (reading.deviceDeletion) {
      deleteKeyedState(context, out, reading);
      return;
    }
    String device = context.getCurrentKey();
    ReadOnlyBroadcastState<String, Long> tombstones = context.getBroadcastState(TOMBSTONES);
    if (tombstones.contains(device)) {
      droppedForDeletedDevices.inc();
      return;
    }
    Threshold[] thresholds =
        context
            .getBroadcastState(THRESHOLDS_BY_SENSOR)
            .get(Threshold.sensorKey(device, reading.key));
    if (thresholds == null) {
      // Most sensors have no threshold: their readings only need the deletion check, one keyed
      // state read and no write (the newest-reading time matters only to alert state).
      if (deletedAt.value() != null) {
        droppedForDeletedDevices.inc();
        return;
      }
      out.collect(reading);
      return;
    }
    Long newest = lastEvaluatedMicros.get(reading.key);
    // The deletion marker clears the newest-reading times, so only a sensor without one can
    // belong to a device whose marker came before its broadcast deletion.
    if (newest == null && deletedAt.value() != null) {
      droppedForDeletedDevices.inc();
      return;
    }
    out.collect(reading);

    if (newest != null && reading.timeMicros < newest) {
      return; // stored, but too old to change alert state
    }
    lastEvaluatedMicros.put(reading.key, reading.timeMicros);
    for (Threshold threshold : thresholds) {
      evaluate(threshold, reading, newest == null, context);
    }
  }

  /**
   * A state with an alert id but no active alert is one a user resolved: the violation goes on
   * without an alert until the sensor leaves it.
   *
   * @param afterSilence no reading of this sensor within the idle-sensor retention (or ever)
   */
  private void evaluate(
      Threshold threshold, Reading reading, boolean afterSilence, ReadOnlyContext context)
      throws Exception {
    SensorAlertState state = alertStates.get(threshold.thresholdId);
    if (state != null && !state.alertActive && afterSilence) {
      state = null; // a violation waiting for the minimum duration does not span a silence
      alertStates.remove(threshold.thresholdId);
    }
    if (state == null) {
      if (!threshold.violatedBy(reading.value)) {
        return;
      }
      state = new SensorAlertState();
      state.violationStartMicros = reading.timeMicros;
      state.placeId = reading.placeId().toString();
    } else if (state.alertId != null
        ? threshold.clearedBy(reading.value, settings.deadband())
        : !threshold.violatedBy(reading.value)) {
      if (state.alertActive) {
        context.output(ALERTS, resolution(threshold, state, reading.timeMicros));
        resolved.inc();
      }
      alertStates.remove(threshold.thresholdId);
      return;
    }
    if (state.alertId == null
        && reading.timeMicros - state.violationStartMicros
            >= settings.minDuration().toNanos() / 1000) {
      state.alertId = alertId(threshold, state.violationStartMicros);
      state.createdAtMicros = reading.timeMicros;
      state.triggerValue = reading.value;
      if (context.getBroadcastState(RESOLVED_BY_USERS).contains(state.alertId)) {
        closedByUsers.inc(); // a replay reached an alert a user already resolved: it stays closed
      } else {
        state.alertActive = true;
        context.output(ALERTS, creation(threshold, state));
        created.inc();
      }
    }
    alertStates.put(threshold.thresholdId, state);
  }

  /**
   * The device's deletion marker, on the keyed input (see {@link DeviceDeletionMarkers}): clears
   * this one device's state, remembers the deletion (so readings that follow are dropped even if
   * the broadcast deletion has not arrived yet) and passes the marker on behind the device's last
   * readings. Its cost depends on this device's state only.
   */
  private void deleteKeyedState(ReadOnlyContext context, Collector<Reading> out, Reading marker)
      throws Exception {
    alertStates.clear();
    lastEvaluatedMicros.clear();
    deletedAt.update(context.currentProcessingTime());
    out.collect(marker);
  }

  @Override
  public void processBroadcastElement(ControlEvent event, Context context, Collector<Reading> out)
      throws Exception {
    BroadcastState<String, Threshold[]> bySensor = context.getBroadcastState(THRESHOLDS_BY_SENSOR);
    BroadcastState<String, String> sensorOf = context.getBroadcastState(SENSOR_BY_THRESHOLD);
    BroadcastState<String, Long> tombstones = context.getBroadcastState(TOMBSTONES);
    BroadcastState<String, Long> deletedThresholds =
        context.getBroadcastState(THRESHOLD_TOMBSTONES);
    if (thresholdIdsByDevice == null) {
      indexThresholdsByDevice(sensorOf);
    }
    switch (event.type) {
      case THRESHOLD_CREATED:
        if (tombstones.contains(event.deviceId)) {
          break; // a late threshold of a deleted device
        }
        if (deletedThresholds.contains(event.thresholdId)) {
          break; // read after its deletion (another partition): a deleted id stays deleted
        }
        removeThreshold(bySensor, sensorOf, event.thresholdId);
        String sensor = Threshold.sensorKey(event.deviceId, event.key);
        bySensor.put(sensor, with(bySensor.get(sensor), Threshold.of(event)));
        sensorOf.put(event.thresholdId, sensor);
        thresholdIdsByDevice
            .computeIfAbsent(event.deviceId, d -> new HashSet<>())
            .add(event.thresholdId);
        thresholdCount++;
        break;
      case THRESHOLD_DELETED:
        if (!deletedThresholds.contains(event.thresholdId)) {
          thresholdTombstonesHeld++;
        }
        deletedThresholds.put(event.thresholdId, context.currentProcessingTime());
        Threshold removed = removeThreshold(bySensor, sensorOf, event.thresholdId);
        if (removed != null) {
          resolveEverywhere(removed, event.timestamp * 1000, context);
        }
        break;
      case DEVICE_DELETED:
      case DEVICES_BULK_DELETED:
        for (String device : event.deletedDevices()) {
          deleteDevice(device, bySensor, sensorOf, tombstones, context);
        }
        break;
      case ALERT_RESOLVED:
        context
            .getBroadcastState(RESOLVED_BY_USERS)
            .put(event.alertId, context.currentProcessingTime());
        closeResolvedAlert(event, context);
        break;
      default:
        throw new IllegalStateException("Unhandled control event " + event.type);
    }
    long now = context.currentProcessingTime();
    if (now >= nextPruneAt) {
      // Now and then rather than per event, so a burst of events costs no scan per event.
      tombstonesHeld = forgetOldTombstones(tombstones, now);
      thresholdTombstonesHeld = forgetOldTombstones(deletedThresholds, now);
      forgetOldTombstones(context.getBroadcastState(RESOLVED_BY_USERS), now);
      nextPruneAt = now + Math.min(60_000L, settings.tombstoneRetention().toMillis() / 10);
    }
    thresholdsHeld = thresholdCount;
  }

  /**
   * The broadcast half of a device's deletion: its thresholds (found through {@link
   * #thresholdIdsByDevice}) and a tombstone. Its keyed state is cleared by the device's marker on
   * the keyed input, so the cost does not depend on how many devices the state holds.
   */
  private void deleteDevice(
      String device,
      BroadcastState<String, Threshold[]> bySensor,
      BroadcastState<String, String> sensorOf,
      BroadcastState<String, Long> tombstones,
      Context context)
      throws Exception {
    Set<String> ids = thresholdIdsByDevice.get(device);
    for (String id : ids == null ? List.<String>of() : List.copyOf(ids)) {
      removeThreshold(bySensor, sensorOf, id);
    }
    if (!tombstones.contains(device)) {
      tombstonesHeld++;
    }
    tombstones.put(device, context.currentProcessingTime());
  }

  /**
   * Closes the active alert a user resolved, without a {@code resolved} event (the query service
   * published it). Only the alert with this id: a resolve of an older alert of the same threshold
   * leaves a newer one active. Visits the devices with alert state, like a threshold's deletion.
   */
  private void closeResolvedAlert(ControlEvent event, Context context) throws Exception {
    context.applyToKeyedState(
        alertStateDescriptor,
        (device, states) -> {
          if (!device.equals(event.deviceId)) {
            return;
          }
          SensorAlertState state = states.get(event.thresholdId);
          if (state != null && state.alertActive && event.alertId.equals(state.alertId)) {
            state.alertActive = false;
            states.put(event.thresholdId, state);
            closedByUsers.inc();
          }
        });
  }

  private void resolveEverywhere(Threshold threshold, long atMicros, Context context)
      throws Exception {
    context.applyToKeyedState(
        alertStateDescriptor,
        (device, states) -> {
          SensorAlertState state = states.get(threshold.thresholdId);
          if (state != null) {
            if (state.alertActive) {
              context.output(ALERTS, resolution(threshold, state, atMicros));
              resolved.inc();
            }
            states.remove(threshold.thresholdId);
          }
        });
  }

  /** Removes tombstones older than the retention; returns how many are left. */
  private int forgetOldTombstones(BroadcastState<String, Long> tombstones, long now)
      throws Exception {
    long limit = now - settings.tombstoneRetention().toMillis();
    List<String> expired = new ArrayList<>();
    int left = 0;
    for (Map.Entry<String, Long> entry : tombstones.entries()) {
      if (entry.getValue() < limit) {
        expired.add(entry.getKey());
      } else {
        left++;
      }
    }
    for (String id : expired) {
      tombstones.remove(id);
    }
    return left;
  }

  /**
   * Builds {@link #thresholdIdsByDevice} from broadcast state, once per task start (the index is
   * derived, so savepoints keep their shape).
   */
  private void indexThresholdsByDevice(BroadcastState<String, String> sensorOf) throws Exception {
    thresholdIdsByDevice = new HashMap<>();
    thresholdCount = 0;
    for (Map.Entry<String, String> entry : sensorOf.entries()) {
      thresholdIdsByDevice
          .computeIfAbsent(deviceOfSensor(entry.getValue()), d -> new HashSet<>())
          .add(entry.getKey());
      thresholdCount++;
    }
  }

  private static String deviceOfSensor(String sensor) {
    return sensor.substring(0, sensor.indexOf('/'));
  }

  private Threshold removeThreshold(
      BroadcastState<String, Threshold[]> bySensor,
      BroadcastState<String, String> sensorOf,
      String thresholdId)
      throws Exception {
    String sensor = sensorOf.get(thresholdId);
    if (sensor == null) {
      return null;
    }
    sensorOf.remove(thresholdId);
    thresholdCount--;
    String device = deviceOfSensor(sensor);
    Set<String> ofDevice = thresholdIdsByDevice.get(device);
    if (ofDevice != null) {
      ofDevice.remove(thresholdId);
      if (ofDevice.isEmpty()) {
        thresholdIdsByDevice.remove(device);
      }
    }
    Threshold[] thresholds = bySensor.get(sensor);
    Threshold removed = null;
    List<Threshold> kept = new ArrayList<>();
    for (Threshold threshold : thresholds == null ? new Threshold[0] : thresholds) {
      if (threshold.thresholdId.equals(thresholdId)) {
        removed = threshold;
      } else {
        kept.add(threshold);
      }
    }
    if (kept.isEmpty()) {
      bySensor.remove(sensor);
    } else {
      bySensor.put(sensor, kept.toArray(new Threshold[0]));
    }
    return removed;
  }

  private static Threshold[] with(Threshold[] existing, Threshold added) {
    if (existing == null) {
      return new Threshold[] {added};
    }
    Threshold[] thresholds = Arrays.copyOf(existing, existing.length + 1);
    thresholds[existing.length] = added;
    return thresholds;
  }

  static String alertId(Threshold threshold, long violationStartMicros) {
    String name =
        threshold.thresholdId
            + '|'
            + threshold.deviceId
            + '|'
            + threshold.key
            + '|'
            + violationStartMicros;
    return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
  }

  private static AlertEvent creation(Threshold threshold, SensorAlertState state) {
    AlertEvent event = describe(threshold, state);
    event.eventType = AlertEvent.CREATED;
    return event;
  }

  private static AlertEvent resolution(
      Threshold threshold, SensorAlertState state, long resolvedAtMicros) {
    AlertEvent event = describe(threshold, state);
    event.eventType = AlertEvent.RESOLVED;
    event.resolvedAtMicros = resolvedAtMicros;
    return event;
  }

  private static AlertEvent describe(Threshold threshold, SensorAlertState state) {
    AlertEvent event = new AlertEvent();
    event.id = state.alertId;
    event.sensorId = threshold.sensorId;
    event.thresholdId = threshold.thresholdId;
    event.deviceId = threshold.deviceId;
    event.placeId = state.placeId;
    event.key = threshold.key;
    event.value = state.triggerValue;
    event.thresholdValue = threshold.value;
    event.thresholdType = threshold.type;
    event.severity = threshold.severity;
    event.createdAtMicros = state.createdAtMicros;
    return event;
  }
}
