package io.placebrain.collector.query.alerts;

import io.grpc.Status;
import io.grpc.StatusException;
import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.query.internal.Database;
import java.util.UUID;

/**
 * Resolves an alert on a user's request. The row is locked, marked resolved and the "resolved"
 * event published while the lock is held; the update commits only once the broker acknowledged, so
 * a failed publish leaves the alert active and the call can simply be retried. Resolving a resolved
 * alert changes nothing and publishes nothing: a retry after a lost answer is harmless.
 */
public final class AlertResolver {

  private final Database database;
  private final AlertsStore store;
  private final AlertEventPublisher publisher;

  public AlertResolver(Database database, AlertsStore store, AlertEventPublisher publisher) {
    this.database = database;
    this.store = store;
    this.publisher = publisher;
  }

  public AlertRow resolve(UUID id) throws StatusException {
    return database.inTransaction(
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
            return current;
          }
          AlertRow resolved = store.markResolved(connection, id);
          publisher.publish(resolved.toEvent(AlertEvent.RESOLVED));
          return resolved;
        });
  }
}
