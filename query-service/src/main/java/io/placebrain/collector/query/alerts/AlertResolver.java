package io.placebrain.collector.query.alerts;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.query.internal.Database;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves an alert on a user's request. The row is locked and marked resolved, and the "resolved"
 * event written to the {@link AlertOutbox}, in one transaction; after the commit the call waits (at
 * most {@code mqtt.ack-timeout}) for the outbox to publish it. If the broker is down the alert is
 * resolved all the same and its event follows when the broker is back, so the table and the event
 * never disagree. Resolving a resolved alert changes nothing and publishes nothing: a retry after a
 * lost answer is harmless.
 */
public final class AlertResolver {

  private static final Logger LOG = LoggerFactory.getLogger(AlertResolver.class);

  private final Database database;
  private final AlertsStore store;
  private final AlertOutbox outbox;
  private final Duration ackTimeout;

  public AlertResolver(
      Database database, AlertsStore store, AlertOutbox outbox, Duration ackTimeout) {
    this.database = database;
    this.store = store;
    this.outbox = outbox;
    this.ackTimeout = ackTimeout;
  }

  private record Resolution(AlertRow row, Long seq) {}

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
                return new Resolution(current, null);
              }
              AlertRow resolved = store.markResolved(connection, id);
              Long seq =
                  outbox.isEnabled()
                      ? outbox.add(connection, resolved.toEvent(AlertEvent.RESOLVED))
                      : null;
              return new Resolution(resolved, seq);
            });
    if (resolution.seq() != null && !outbox.awaitPublished(resolution.seq(), waitLimit())) {
      LOG.warn(
          "Alert {} is resolved; its event waits in the outbox until the MQTT broker acknowledges",
          id);
    }
    return resolution.row();
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
