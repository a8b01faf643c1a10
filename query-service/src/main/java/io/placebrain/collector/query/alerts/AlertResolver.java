package io.placebrain.collector.query.alerts;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.alerts.AlertJson;
import io.placebrain.collector.control.ResolvedAlertRecord;
import io.placebrain.collector.query.internal.Database;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves an alert on a user's request. The row is locked and marked resolved, the "resolved"
 * event written to the MQTT {@link AlertOutbox} and the resolve to the Kafka one (for the job, so
 * it closes the alert without a second "resolved"), in one transaction; after the commit the call
 * waits (at most {@code mqtt.ack-timeout}) for both to be published. If a broker is down the alert
 * is resolved all the same and its messages follow when the broker is back, so the table and the
 * event never disagree. Resolving a resolved alert changes nothing and publishes nothing: a retry
 * after a lost answer is harmless.
 */
public final class AlertResolver {

  private static final Logger LOG = LoggerFactory.getLogger(AlertResolver.class);

  private final Database database;
  private final AlertsStore store;
  private final AlertOutbox events;
  private final AlertOutbox resolves;
  private final String resolvedTopic;
  private final Duration ackTimeout;

  /**
   * @param events the MQTT events' outbox
   * @param resolves the outbox of resolves announced to the job on {@code resolvedTopic}
   */
  public AlertResolver(
      Database database,
      AlertsStore store,
      AlertOutbox events,
      AlertOutbox resolves,
      String resolvedTopic,
      Duration ackTimeout) {
    this.database = database;
    this.store = store;
    this.events = events;
    this.resolves = resolves;
    this.resolvedTopic = resolvedTopic;
    this.ackTimeout = ackTimeout;
  }

  private record Resolution(AlertRow row, Long eventSeq, Long resolveSeq) {}

  public AlertRow resolve(UUID id) throws StatusException {
    Resolution resolution =
        database.inTransaction(
            connection -> {
              AlertRow current =
                  store
                      .lock(connection, id)
                      .orElseThrow(
                          () ->
                              Status.NOT_FOUND
                                  .withDescription("alert " + id + " does not exist")
                                  .asException());
              if (current.isResolved()) {
                return new Resolution(current, null, null);
              }
              AlertRow resolved = store.markResolved(connection, id);
              return new Resolution(
                  resolved, queueEvent(connection, resolved), queueResolve(connection, resolved));
            });
    if (resolution.eventSeq() != null
        && !events.awaitPublished(resolution.eventSeq(), waitLimit())) {
      LOG.warn(
          "Alert {} is resolved; its event waits in the outbox until the MQTT broker acknowledges",
          id);
    }
    if (resolution.resolveSeq() != null
        && !resolves.awaitPublished(resolution.resolveSeq(), waitLimit())) {
      LOG.warn(
          "Alert {} is resolved; the job learns of it once Kafka acknowledges (queued in the outbox)",
          id);
    }
    return resolution.row();
  }

  private Long queueEvent(Connection connection, AlertRow resolved) throws SQLException {
    if (!events.isEnabled()) {
      return null;
    }
    AlertEvent event = resolved.toEvent(AlertEvent.RESOLVED);
    return events.add(
        connection, resolved.id(), AlertJson.topic(event), null, AlertJson.toJson(event));
  }

  /** A row without threshold or device (not written by the job) has no state in the job. */
  private Long queueResolve(Connection connection, AlertRow resolved) throws SQLException {
    if (!resolves.isEnabled() || resolved.thresholdId() == null || resolved.deviceId() == null) {
      return null;
    }
    String threshold = resolved.thresholdId().toString();
    String device = resolved.deviceId().toString();
    return resolves.add(
        connection,
        resolved.id(),
        resolvedTopic,
        ResolvedAlertRecord.key(threshold, device),
        ResolvedAlertRecord.value(
            resolved.id().toString(), threshold, device, String.valueOf(resolved.resolvedAt())));
  }

  private Duration waitLimit() {
    Duration wait = ackTimeout;
    Deadline deadline = Context.current().getDeadline();
    if (deadline != null) {
      Duration remaining =
          Duration.ofMillis(deadline.timeRemaining(TimeUnit.MILLISECONDS) * 9 / 10);
      wait = remaining.compareTo(wait) < 0 ? remaining : wait;
    }
    return wait;
  }
}
