package io.placebrain.collector.query.alerts;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import io.placebrain.collector.alerts.AlertEvent;
import io.placebrain.collector.alerts.AlertJson;
import io.placebrain.collector.mqtt.MqttPublisher;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Publishes alert events on {@code placebrain/{place_id}/alerts} exactly as the job does, and waits
 * for the broker's acknowledgement so the caller knows the event went out.
 */
public final class AlertEventPublisher implements AlertOutbox.Channel, AutoCloseable {

  private final MqttPublisher publisher;
  private final String server;
  private final Duration ackTimeout;

  /** {@code publisher} may be null: MQTT is switched off and nothing is published. */
  public AlertEventPublisher(MqttPublisher publisher, String server, Duration ackTimeout) {
    this.publisher = publisher;
    this.server = server;
    this.ackTimeout = ackTimeout;
    if (publisher != null) {
      publisher.start(() -> {});
    }
  }

  /** Whether MQTT is on; off, resolving publishes nothing. */
  @Override
  public boolean isEnabled() {
    return publisher != null;
  }

  /** Returns once the broker acknowledged; UNAVAILABLE when it is unreachable or too slow. */
  public void publish(AlertEvent event) throws StatusException {
    publish(AlertJson.topic(event), AlertJson.toJson(event));
  }

  /** An event from the outbox (MQTT messages have no key). */
  @Override
  public void publish(String topic, byte[] key, byte[] payload) throws StatusException {
    publish(topic, payload);
  }

  /** The same for an event already rendered. */
  public void publish(String topic, byte[] payload) throws StatusException {
    if (publisher == null) {
      return;
    }
    if (!publisher.isConnected()) {
      throw Status.UNAVAILABLE
          .withDescription("the MQTT broker " + server + " is not connected; try again later")
          .asException();
    }
    long waitMillis = ackTimeout.toMillis();
    Deadline deadline = Context.current().getDeadline();
    if (deadline != null) {
      waitMillis = Math.min(waitMillis, deadline.timeRemaining(TimeUnit.MILLISECONDS));
    }
    try {
      publisher.publish(topic, payload).get(Math.max(1, waitMillis), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw Status.UNAVAILABLE
          .withDescription("the MQTT broker " + server + " did not acknowledge in time")
          .asException();
    } catch (ExecutionException e) {
      throw Status.UNAVAILABLE
          .withDescription("the MQTT broker " + server + " refused: " + e.getCause().getMessage())
          .withCause(e.getCause())
          .asException();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("interrupted while publishing").asException();
    }
  }

  @Override
  public void close() {
    if (publisher != null) {
      publisher.close();
    }
  }
}
