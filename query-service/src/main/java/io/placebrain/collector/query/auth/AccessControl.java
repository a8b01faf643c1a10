package io.placebrain.collector.query.auth;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.placebrain.collector.proto.CollectorServiceGrpc;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Bearer-token access control for {@code collector.CollectorService}, the gRPC way: each call
 * carries {@code authorization: Bearer <token>} metadata. A read token may call every read RPC; an
 * admin token may also call the destructive ones, DeleteReadings and ResolveAlert. A call without a
 * known token fails UNAUTHENTICATED, a read token on an admin RPC PERMISSION_DENIED. It is
 * installed on the collector service only, so health checking and reflection stay open.
 *
 * <p>Tokens are kept as SHA-256 digests and compared in constant time, so neither the stored tokens
 * nor the time a comparison takes reveal anything about them.
 */
public final class AccessControl implements ServerInterceptor {

  public enum Role {
    READ,
    ADMIN
  }

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private static final String BEARER = "bearer ";

  /** The RPCs that change data. */
  public static final Set<String> ADMIN_METHODS =
      Set.of(
          CollectorServiceGrpc.getDeleteReadingsMethod().getFullMethodName(),
          CollectorServiceGrpc.getResolveAlertMethod().getFullMethodName());

  private final List<byte[]> readDigests;
  private final List<byte[]> adminDigests;

  public AccessControl(Collection<String> readTokens, Collection<String> adminTokens) {
    this.readDigests = digests(readTokens);
    this.adminDigests = digests(adminTokens);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Role role = role(headers.get(AUTHORIZATION));
    if (role == null) {
      call.close(
          Status.UNAUTHENTICATED.withDescription(
              "this service needs a token: send metadata 'authorization: Bearer <token>'"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    String method = call.getMethodDescriptor().getFullMethodName();
    if (role != Role.ADMIN && ADMIN_METHODS.contains(method)) {
      call.close(
          Status.PERMISSION_DENIED.withDescription(
              method + " changes data and needs an admin token; this token may only read"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }

  /** The role an {@code authorization} header grants; null for none. */
  Role role(String authorization) {
    if (authorization == null
        || authorization.length() <= BEARER.length()
        || !authorization.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
      return null;
    }
    byte[] digest = digest(authorization.substring(BEARER.length()).trim());
    // Every stored digest is compared, so the time taken does not depend on which one matches.
    boolean admin = matchesAny(adminDigests, digest);
    boolean read = matchesAny(readDigests, digest);
    return admin ? Role.ADMIN : read ? Role.READ : null;
  }

  private static boolean matchesAny(List<byte[]> digests, byte[] digest) {
    boolean match = false;
    for (byte[] known : digests) {
      match |= MessageDigest.isEqual(known, digest);
    }
    return match;
  }

  private static List<byte[]> digests(Collection<String> tokens) {
    List<byte[]> digests = new ArrayList<>();
    for (String token : tokens) {
      digests.add(digest(token));
    }
    return digests;
  }

  private static byte[] digest(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
