package io.placebrain.collector.query.grpc;

import static io.placebrain.collector.query.grpc.Requests.invalid;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import io.placebrain.collector.proto.AlertSeverity;
import io.placebrain.collector.proto.AlertStatus;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.proto.DeleteReadingsRequest;
import io.placebrain.collector.proto.DeleteReadingsResponse;
import io.placebrain.collector.proto.GetAlertCountsRequest;
import io.placebrain.collector.proto.GetAlertCountsResponse;
import io.placebrain.collector.proto.GetAlertsRequest;
import io.placebrain.collector.proto.GetAlertsResponse;
import io.placebrain.collector.proto.GetLatestReadingsRequest;
import io.placebrain.collector.proto.GetLatestReadingsResponse;
import io.placebrain.collector.proto.GetReadingsRequest;
import io.placebrain.collector.proto.GetReadingsResponse;
import io.placebrain.collector.proto.ResolveAlertRequest;
import io.placebrain.collector.proto.ResolveAlertResponse;
import io.placebrain.collector.query.alerts.AlertFilter;
import io.placebrain.collector.query.alerts.AlertResolver;
import io.placebrain.collector.query.alerts.AlertRow;
import io.placebrain.collector.query.alerts.AlertsStore;
import io.placebrain.collector.query.deletion.DeviceDeleter;
import io.placebrain.collector.query.internal.Database;
import io.placebrain.collector.query.internal.HeavyQueries;
import io.placebrain.collector.query.readings.ReadingsQueries;
import io.placebrain.collector.storage.DeviceData;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code collector.CollectorService}: validates each request, runs its query, answers. */
public final class CollectorGrpcService extends CollectorServiceGrpc.CollectorServiceImplBase {

  private static final Logger LOG = LoggerFactory.getLogger(CollectorGrpcService.class);

  /** The widest range GetReadings answers with raw points. */
  public static final Duration MAX_RAW_RANGE = Requests.MAX_RAW_RANGE;

  public static final int DEFAULT_PER_PAGE = 50;
  public static final int MAX_PER_PAGE = 200;

  private final Database database;
  private final ReadingsQueries readings;
  private final AlertsStore alerts;
  private final AlertResolver resolver;
  private final HeavyQueries heavy;
  private final DeviceDeleter deleter;
  private final Duration deletionBudget;

  public CollectorGrpcService(
      Database database,
      HeavyQueries heavy,
      ReadingsQueries readings,
      AlertsStore alerts,
      AlertResolver resolver,
      DeviceDeleter deleter,
      Duration deletionBudget) {
    this.database = database;
    this.heavy = heavy;
    this.deleter = deleter;
    this.deletionBudget = deletionBudget;
    this.readings = readings;
    this.alerts = alerts;
    this.resolver = resolver;
  }

  /** One call's work; a {@link StatusException} is the answer's error. */
  @FunctionalInterface
  private interface Call<T> {
    T run() throws StatusException;
  }

  private static <T> void answer(String method, StreamObserver<T> observer, Call<T> call) {
    T response;
    try {
      response = call.run();
    } catch (StatusException e) {
      observer.onError(e);
      return;
    } catch (RuntimeException e) {
      LOG.error("{} failed", method, e);
      observer.onError(
          Status.INTERNAL.withDescription(method + " failed: " + e).withCause(e).asException());
      return;
    }
    observer.onNext(response);
    observer.onCompleted();
  }

  @Override
  public void getLatestReadings(
      GetLatestReadingsRequest request, StreamObserver<GetLatestReadingsResponse> observer) {
    answer(
        "GetLatestReadings",
        observer,
        () -> {
          UUID device = Requests.uuid(request.getDeviceId(), "device_id");
          return GetLatestReadingsResponse.newBuilder()
              .addAllReadings(
                  database.inTransaction(connection -> readings.latest(connection, device)))
              .build();
        });
  }

  @Override
  public void getReadings(
      GetReadingsRequest request, StreamObserver<GetReadingsResponse> observer) {
    answer(
        "GetReadings",
        observer,
        () -> {
          Requests.Readings query = Requests.readings(request);
          if (query.width() == null) {
            return GetReadingsResponse.newBuilder()
                .addAllSeries(
                    heavy.run(
                        () ->
                            database.inTransaction(
                                connection -> readings.raw(connection, query.range()))))
                .build();
          }
          return GetReadingsResponse.newBuilder()
              .addAllSeries(
                  heavy.run(
                      () ->
                          database.inTransaction(
                              connection ->
                                  readings.aggregates(connection, query.range(), query.width()))))
              .build();
        });
  }

  @Override
  public void deleteReadings(
      DeleteReadingsRequest request, StreamObserver<DeleteReadingsResponse> observer) {
    answer(
        "DeleteReadings",
        observer,
        () -> {
          List<UUID> devices = Requests.uuids(request.getDeviceIdsList(), "device_ids");
          DeviceData.Deleted deleted = awaitDeletion(devices);
          LOG.info(
              "DeleteReadings removed {} alert(s) and {} reading(s) of {} device(s)",
              deleted.alerts(),
              deleted.readings(),
              devices.size());
          return DeleteReadingsResponse.newBuilder().setSuccess(true).build();
        });
  }

  /**
   * Runs (or joins) the chunked deletion in the background and waits for it within {@code
   * deletion.rpc-budget} and the call's deadline. When it takes longer, it keeps running and the
   * call answers UNAVAILABLE, the status clients retry: a retry joins or continues it.
   */
  private DeviceData.Deleted awaitDeletion(List<UUID> devices) throws StatusException {
    long waitMillis = deletionBudget.toMillis();
    Deadline deadline = Context.current().getDeadline();
    if (deadline != null) {
      // Answer a little before the client gives up, so it learns the deletion continues.
      waitMillis = Math.min(waitMillis, deadline.timeRemaining(TimeUnit.MILLISECONDS) * 9 / 10);
    }
    CompletableFuture<DeviceData.Deleted> deletion = deleter.deleteInBackground(devices);
    try {
      return deletion.get(Math.max(0, waitMillis), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw Status.UNAVAILABLE
          .withDescription(
              "deleting "
                  + devices.size()
                  + " device(s) takes longer than this call may wait; it continues in the"
                  + " background, committed chunk by chunk. DeleteReadings is idempotent: call it"
                  + " again to wait for the rest")
          .asException();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof SQLException sql) {
        StatusException status = Database.toStatus(sql);
        throw status
            .getStatus()
            .augmentDescription("what was deleted stays deleted; a retry continues the deletion")
            .asException();
      }
      throw new IllegalStateException("device deletion failed", cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED
          .withDescription("interrupted; the deletion continues in the background")
          .asException();
    }
  }

  @Override
  public void getAlerts(GetAlertsRequest request, StreamObserver<GetAlertsResponse> observer) {
    answer(
        "GetAlerts",
        observer,
        () -> {
          UUID place = Requests.uuid(request.getPlaceId(), "place_id");
          String status = null;
          if (request.hasStatus()) {
            if (request.getStatus() == AlertStatus.UNRECOGNIZED) {
              throw invalid("status " + request.getStatusValue() + " is not an AlertStatus");
            }
            status = Messages.statusText(request.getStatus());
          }
          String severity = null;
          if (request.hasSeverity()) {
            if (request.getSeverity() == AlertSeverity.UNRECOGNIZED) {
              throw invalid("severity " + request.getSeverityValue() + " is not an AlertSeverity");
            }
            severity = Messages.severityText(request.getSeverity());
          }
          UUID sensor =
              request.hasSensorId() ? Requests.uuid(request.getSensorId(), "sensor_id") : null;
          UUID device =
              request.hasDeviceId() ? Requests.uuid(request.getDeviceId(), "device_id") : null;
          Instant from = request.hasFrom() ? Requests.instant(request.getFrom(), "from") : null;
          Instant to = request.hasTo() ? Requests.instant(request.getTo(), "to") : null;
          Requests.requireOrdered(from, to);
          if (request.getPage() < 0) {
            throw invalid("page starts at 1 (0 means 1), not " + request.getPage());
          }
          int page = Math.max(1, request.getPage());
          int perPage = request.getPerPage();
          if (perPage < 0 || perPage > MAX_PER_PAGE) {
            throw invalid(
                "per_page must be 1 to "
                    + MAX_PER_PAGE
                    + " (0 means "
                    + DEFAULT_PER_PAGE
                    + "), not "
                    + perPage);
          }
          int size = perPage == 0 ? DEFAULT_PER_PAGE : perPage;
          AlertFilter filter = new AlertFilter(place, status, severity, sensor, device, from, to);
          AlertsStore.Page result =
              heavy.run(
                  () ->
                      database.inTransaction(
                          connection -> alerts.page(connection, filter, page, size)));
          GetAlertsResponse.Builder response =
              GetAlertsResponse.newBuilder()
                  .setTotal((int) Math.min(Integer.MAX_VALUE, result.total()));
          for (AlertRow row : result.items()) {
            response.addItems(Messages.alert(row));
          }
          return response.build();
        });
  }

  @Override
  public void getAlertCounts(
      GetAlertCountsRequest request, StreamObserver<GetAlertCountsResponse> observer) {
    answer(
        "GetAlertCounts",
        observer,
        () -> {
          List<String> requested = request.getPlaceIdList();
          if (requested.isEmpty()) {
            return GetAlertCountsResponse.getDefaultInstance();
          }
          List<UUID> places = Requests.uuids(requested, "place_id");
          Map<UUID, Long> counts =
              heavy.run(
                  () ->
                      database.inTransaction(
                          connection -> alerts.unresolvedCounts(connection, places)));
          GetAlertCountsResponse.Builder response = GetAlertCountsResponse.newBuilder();
          // Every requested place answers, under the id as the caller wrote it; zero when none.
          for (String place : requested) {
            long count = counts.getOrDefault(UUID.fromString(place), 0L);
            response.putUnresolvedByPlace(place, (int) Math.min(Integer.MAX_VALUE, count));
          }
          long total = counts.values().stream().mapToLong(Long::longValue).sum();
          return response.setTotalUnresolved((int) Math.min(Integer.MAX_VALUE, total)).build();
        });
  }

  @Override
  public void resolveAlert(
      ResolveAlertRequest request, StreamObserver<ResolveAlertResponse> observer) {
    answer(
        "ResolveAlert",
        observer,
        () -> {
          UUID id = Requests.uuid(request.getAlertId(), "alert_id");
          return ResolveAlertResponse.newBuilder()
              .setAlert(Messages.alert(resolver.resolve(id)))
              .build();
        });
  }
}
