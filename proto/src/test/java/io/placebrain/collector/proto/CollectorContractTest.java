package io.placebrain.collector.proto;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Guards wire compatibility with the platform's collector.proto: package, service, rpc names, field
 * numbers and enum values must never move.
 */
class CollectorContractTest {

  @Test
  void serviceKeepsItsNameAndMethods() {
    ServiceDescriptor service =
        CollectorProto.getDescriptor().findServiceByName("CollectorService");

    assertThat(service.getFullName()).isEqualTo("collector.CollectorService");
    assertThat(service.getMethods())
        .extracting(m -> m.getName() + "(" + m.getInputType().getName() + ")")
        .containsExactly(
            "GetLatestReadings(GetLatestReadingsRequest)",
            "GetReadings(GetReadingsRequest)",
            "DeleteReadings(DeleteReadingsRequest)",
            "GetAlerts(GetAlertsRequest)",
            "GetAlertCounts(GetAlertCountsRequest)",
            "ResolveAlert(ResolveAlertRequest)");
  }

  @Test
  void readingMessagesKeepTheirFieldNumbers() {
    assertThat(fields(GetLatestReadingsRequest.getDescriptor()))
        .containsExactly(entry("device_id", 1));
    assertThat(fields(SensorReading.getDescriptor()))
        .containsExactly(entry("key", 1), entry("value", 2), entry("time", 3));
    assertThat(fields(GetLatestReadingsResponse.getDescriptor()))
        .containsExactly(entry("readings", 1));
    assertThat(fields(GetReadingsRequest.getDescriptor()))
        .containsExactly(
            entry("device_id", 1),
            entry("keys", 2),
            entry("from", 3),
            entry("to", 4),
            entry("interval_seconds", 5));
    assertThat(fields(AggregatedReading.getDescriptor()))
        .containsExactly(entry("time", 1), entry("avg", 2), entry("min", 3), entry("max", 4));
    assertThat(fields(KeyReadings.getDescriptor()))
        .containsExactly(entry("key", 1), entry("points", 2), entry("raw_points", 3));
    assertThat(fields(GetReadingsResponse.getDescriptor())).containsExactly(entry("series", 1));
    assertThat(fields(DeleteReadingsRequest.getDescriptor()))
        .containsExactly(entry("device_ids", 1));
    assertThat(fields(DeleteReadingsResponse.getDescriptor())).containsExactly(entry("success", 1));
    assertThat(AggregatedReading.getDescriptor().findFieldByName("avg").hasPresence()).isTrue();
  }

  @Test
  void alertMessagesKeepTheirFieldNumbers() {
    assertThat(fields(Alert.getDescriptor()))
        .containsExactly(
            entry("id", 1),
            entry("sensor_id", 2),
            entry("threshold_id", 3),
            entry("device_id", 4),
            entry("place_id", 5),
            entry("key", 6),
            entry("value", 7),
            entry("threshold_value", 8),
            entry("threshold_type", 9),
            entry("severity", 10),
            entry("status", 11),
            entry("created_at", 12),
            entry("resolved_at", 13));
    assertThat(fields(GetAlertsRequest.getDescriptor()))
        .containsExactly(
            entry("place_id", 1),
            entry("status", 2),
            entry("severity", 3),
            entry("sensor_id", 4),
            entry("device_id", 5),
            entry("from", 6),
            entry("to", 7),
            entry("page", 8),
            entry("per_page", 9));
    assertThat(fields(GetAlertsResponse.getDescriptor()))
        .containsExactly(entry("items", 1), entry("total", 2));
    assertThat(fields(GetAlertCountsRequest.getDescriptor())).containsExactly(entry("place_id", 1));
    assertThat(fields(GetAlertCountsResponse.getDescriptor()))
        .containsExactly(entry("unresolved_by_place", 1), entry("total_unresolved", 2));
    assertThat(fields(ResolveAlertRequest.getDescriptor())).containsExactly(entry("alert_id", 1));
    assertThat(fields(ResolveAlertResponse.getDescriptor())).containsExactly(entry("alert", 1));
  }

  @Test
  void enumsKeepTheirPrefixedValues() {
    assertThat(values(AlertThresholdType.getDescriptor()))
        .containsExactly(
            entry("ALERT_THRESHOLD_TYPE_UNSPECIFIED", 0),
            entry("ALERT_THRESHOLD_TYPE_MIN", 1),
            entry("ALERT_THRESHOLD_TYPE_MAX", 2));
    assertThat(values(AlertSeverity.getDescriptor()))
        .containsExactly(
            entry("ALERT_SEVERITY_UNSPECIFIED", 0),
            entry("ALERT_SEVERITY_WARNING", 1),
            entry("ALERT_SEVERITY_CRITICAL", 2));
    assertThat(values(AlertStatus.getDescriptor()))
        .containsExactly(
            entry("ALERT_STATUS_UNSPECIFIED", 0),
            entry("ALERT_STATUS_ACTIVE", 1),
            entry("ALERT_STATUS_RESOLVED", 2));
  }

  @Test
  void generatedStubsTalkToAGeneratedServer() throws Exception {
    String name = InProcessServerBuilder.generateName();
    Server server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                new CollectorServiceGrpc.CollectorServiceImplBase() {
                  @Override
                  public void getLatestReadings(
                      GetLatestReadingsRequest request,
                      StreamObserver<GetLatestReadingsResponse> response) {
                    response.onNext(
                        GetLatestReadingsResponse.newBuilder()
                            .addReadings(
                                SensorReading.newBuilder()
                                    .setKey(request.getDeviceId())
                                    .setValue(21.5)
                                    .setTime(Timestamp.newBuilder().setSeconds(1_700_000_000)))
                            .build());
                    response.onCompleted();
                  }
                })
            .build()
            .start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try {
      GetLatestReadingsResponse answer =
          CollectorServiceGrpc.newBlockingStub(channel)
              .getLatestReadings(GetLatestReadingsRequest.newBuilder().setDeviceId("d-1").build());

      assertThat(answer.getReadingsList())
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.getKey()).isEqualTo("d-1");
                assertThat(r.getValue()).isEqualTo(21.5);
                assertThat(r.getTime().getSeconds()).isEqualTo(1_700_000_000);
              });
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
    }
  }

  private static Map<String, Integer> fields(Descriptor descriptor) {
    return descriptor.getFields().stream()
        .collect(
            Collectors.toMap(
                FieldDescriptor::getName,
                FieldDescriptor::getNumber,
                (a, b) -> a,
                LinkedHashMap::new));
  }

  private static Map<String, Integer> values(EnumDescriptor descriptor) {
    Map<String, Integer> values = new LinkedHashMap<>();
    descriptor.getValues().forEach(v -> values.put(v.getName(), v.getNumber()));
    return values;
  }

  private static Map.Entry<String, Integer> entry(String name, int number) {
    return Map.entry(name, number);
  }
}
