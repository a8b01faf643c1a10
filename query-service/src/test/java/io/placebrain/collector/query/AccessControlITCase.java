package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.TlsTesting;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import io.placebrain.collector.proto.DeleteReadingsRequest;
import io.placebrain.collector.proto.GetLatestReadingsRequest;
import io.placebrain.collector.proto.ResolveAlertRequest;
import io.placebrain.collector.testing.FreshDatabase;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bearer tokens with read and admin roles, checked on every collector call; health checking and
 * reflection stay open. Mutual TLS: only clients with a certificate from the configured CA connect.
 */
class AccessControlITCase {

  @RegisterExtension static final FreshDatabase DB = new FreshDatabase();

  private static final String READ_TOKEN = "read-" + UUID.randomUUID();
  private static final String ADMIN_TOKEN = "admin-" + UUID.randomUUID();
  private static QueryServiceHarness harness;

  @BeforeAll
  static void start() throws Exception {
    harness =
        new QueryServiceHarness(
            DB.get(),
            Map.of(
                "auth.read-tokens",
                READ_TOKEN,
                "auth.admin-tokens",
                ADMIN_TOKEN,
                "kafka.bootstrap-servers",
                "",
                "mqtt.server",
                ""));
  }

  @AfterAll
  static void stop() throws Exception {
    if (harness != null) {
      harness.close();
    }
  }

  private static CollectorServiceGrpc.CollectorServiceBlockingStub client(String authorization) {
    CollectorServiceGrpc.CollectorServiceBlockingStub stub = harness.client();
    if (authorization == null) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), authorization);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static GetLatestReadingsRequest latest(UUID device) {
    return GetLatestReadingsRequest.newBuilder().setDeviceId(device.toString()).build();
  }

  private static void assertStatus(Runnable call, Status.Code code) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(code));
  }

  @Test
  void callsWithoutAKnownBearerTokenAreUnauthenticated() {
    UUID device = UUID.randomUUID();
    assertStatus(() -> client(null).getLatestReadings(latest(device)), Status.Code.UNAUTHENTICATED);
    assertStatus(
        () -> client("Bearer wrong-token-0123456789").getLatestReadings(latest(device)),
        Status.Code.UNAUTHENTICATED);
    assertStatus(
        () -> client(READ_TOKEN).getLatestReadings(latest(device)), Status.Code.UNAUTHENTICATED);
    assertStatus(
        () -> client("Basic " + READ_TOKEN).getLatestReadings(latest(device)),
        Status.Code.UNAUTHENTICATED);
    assertThat(client("Bearer " + READ_TOKEN).getLatestReadings(latest(device)).getReadingsList())
        .isEmpty();
    assertThat(client("bearer " + ADMIN_TOKEN).getLatestReadings(latest(device)).getReadingsList())
        .isEmpty();
  }

  @Test
  void aReadTokenCannotDeleteOrResolveAndAnAdminTokenCan() throws Exception {
    UUID device = UUID.randomUUID();
    harness.insertReading(device, "temperature", Instant.parse("2026-11-01T00:00:00Z"), 1);
    UUID alert = UUID.randomUUID();
    harness.insertAlert(
        alert,
        UUID.randomUUID(),
        device,
        "active",
        "warning",
        Instant.parse("2026-11-01T00:00:00Z"));
    DeleteReadingsRequest delete =
        DeleteReadingsRequest.newBuilder().addDeviceIds(device.toString()).build();

    assertStatus(
        () -> client("Bearer " + READ_TOKEN).deleteReadings(delete), Status.Code.PERMISSION_DENIED);
    assertStatus(
        () ->
            client("Bearer " + READ_TOKEN)
                .resolveAlert(
                    ResolveAlertRequest.newBuilder().setAlertId(alert.toString()).build()),
        Status.Code.PERMISSION_DENIED);
    assertThat(harness.count("SELECT count(*) FROM readings WHERE device_id = '" + device + "'"))
        .isEqualTo(1);
    assertThat(
            harness.count(
                "SELECT count(*) FROM alerts WHERE status = 'active' AND id = '" + alert + "'"))
        .isEqualTo(1);

    assertThat(
            client("Bearer " + ADMIN_TOKEN)
                .resolveAlert(ResolveAlertRequest.newBuilder().setAlertId(alert.toString()).build())
                .getAlert()
                .getId())
        .isEqualTo(alert.toString());
    assertThat(client("Bearer " + ADMIN_TOKEN).deleteReadings(delete).getSuccess()).isTrue();
    assertThat(harness.count("SELECT count(*) FROM readings WHERE device_id = '" + device + "'"))
        .isZero();
  }

  @Test
  void healthCheckingAndReflectionNeedNoToken() throws Exception {
    assertThat(
            HealthGrpc.newBlockingStub(harness.channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(
                    HealthCheckRequest.newBuilder()
                        .setService(CollectorServiceGrpc.SERVICE_NAME)
                        .build())
                .getStatus())
        .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

    CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(harness.channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .serverReflectionInfo(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ServerReflectionResponse response) {
                    answer.complete(response);
                  }

                  @Override
                  public void onError(Throwable t) {
                    answer.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    assertThat(answer.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList())
        .extracting(service -> service.getName())
        .contains(CollectorServiceGrpc.SERVICE_NAME);
    requests.onCompleted();
  }

  @Test
  void withMutualTlsOnlyClientsWithACertificateFromTheCaConnect(@TempDir Path dir)
      throws Exception {
    Map<String, String> settings = new HashMap<>();
    settings.put("tls.cert-chain", copy("server1.pem", dir).toString());
    settings.put("tls.private-key", copy("server1.key", dir).toString());
    settings.put("tls.client-ca", copy("ca.pem", dir).toString());
    settings.put("kafka.bootstrap-servers", "");
    settings.put("mqtt.server", "");
    try (QueryServiceHarness mtls = new QueryServiceHarness(DB.get(), settings)) {
      ManagedChannel withCertificate =
          channel(
              mtls.service.port(),
              TlsChannelCredentials.newBuilder()
                  .keyManager(TlsTesting.loadCert("client.pem"), TlsTesting.loadCert("client.key"))
                  .trustManager(TlsTesting.loadCert("ca.pem"))
                  .build());
      ManagedChannel withoutCertificate =
          channel(
              mtls.service.port(),
              TlsChannelCredentials.newBuilder()
                  .trustManager(TlsTesting.loadCert("ca.pem"))
                  .build());
      try {
        // Without tokens, a verified client certificate is the credential, admin included.
        assertThat(
                CollectorServiceGrpc.newBlockingStub(withCertificate)
                    .withDeadlineAfter(10, TimeUnit.SECONDS)
                    .deleteReadings(
                        DeleteReadingsRequest.newBuilder()
                            .addDeviceIds(UUID.randomUUID().toString())
                            .build())
                    .getSuccess())
            .isTrue();
        assertStatus(
            () ->
                CollectorServiceGrpc.newBlockingStub(withoutCertificate)
                    .withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getLatestReadings(latest(UUID.randomUUID())),
            Status.Code.UNAVAILABLE);
      } finally {
        withCertificate.shutdownNow();
        withoutCertificate.shutdownNow();
      }
    }
  }

  private static ManagedChannel channel(int port, io.grpc.ChannelCredentials credentials) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port, credentials)
        .overrideAuthority("foo.test.google.fr")
        .build();
  }

  private static Path copy(String name, Path dir) throws Exception {
    Path file = dir.resolve(name);
    try (InputStream in = TlsTesting.loadCert(name)) {
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
    }
    return file;
  }
}
