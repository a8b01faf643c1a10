package io.placebrain.collector.query;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The container health check against a real gRPC server's health service over TCP. */
class HealthProbeTest {

  private final HealthStatusManager health = new HealthStatusManager();
  private Server server;
  private String target;

  @BeforeEach
  void startServer() throws Exception {
    server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
            .addService(health.getHealthService())
            .build()
            .start();
    target = "127.0.0.1:" + server.getPort();
  }

  @AfterEach
  void stopServer() throws Exception {
    server.shutdownNow().awaitTermination();
  }

  @Test
  void aServingServiceIsHealthy() {
    assertThat(HealthProbe.exitCode(target)).isZero();
  }

  @Test
  void aServiceThatLostItsDatabaseIsNot() {
    health.setStatus("", ServingStatus.NOT_SERVING);
    assertThat(HealthProbe.exitCode(target)).isEqualTo(1);
  }

  @Test
  void aServiceThatDoesNotAnswerIsNot() throws Exception {
    server.shutdownNow().awaitTermination();
    assertThat(HealthProbe.check(target)).isEqualTo(ServingStatus.UNKNOWN);
    assertThat(HealthProbe.exitCode(target)).isEqualTo(1);
  }
}
