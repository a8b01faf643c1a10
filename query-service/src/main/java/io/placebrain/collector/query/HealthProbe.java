package io.placebrain.collector.query;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;

/**
 * A container health check: asks a running query service's gRPC health service whether it serves
 * and exits 0 only on SERVING (the images have no gRPC health client of their own).
 */
public final class HealthProbe {

  private static final long DEADLINE_SECONDS = 5;

  private HealthProbe() {}

  /** {@code host:port}, plaintext; health checking needs no token. */
  public static void main(String[] args) {
    System.exit(exitCode(args.length > 0 ? args[0] : "127.0.0.1:50054"));
  }

  /** 0 when the service at {@code target} serves, 1 otherwise (the status is printed). */
  static int exitCode(String target) {
    ServingStatus status = check(target);
    System.out.println(target + " " + status);
    return status == ServingStatus.SERVING ? 0 : 1;
  }

  /** The overall status the service reports, UNKNOWN when it cannot be asked. */
  static ServingStatus check(String target) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
    try {
      return HealthGrpc.newBlockingStub(channel)
          .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance())
          .getStatus();
    } catch (StatusRuntimeException e) {
      Throwable cause = e.getCause();
      System.err.println(
          target
              + ": "
              + e.getStatus().getCode()
              + (cause == null ? "" : " (" + cause.getMessage() + ")"));
      return ServingStatus.UNKNOWN;
    } finally {
      channel.shutdownNow();
    }
  }
}
