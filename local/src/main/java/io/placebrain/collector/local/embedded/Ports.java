package io.placebrain.collector.local.embedded;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Port checks before anything starts, so a taken port is reported with the option to change. */
public final class Ports {

  private Ports() {}

  /** Fails with the option that moves {@code what} elsewhere when {@code port} is taken. */
  public static void requireFree(int port, String what, String option) {
    if (!isFree(port)) {
      throw new IllegalStateException(
          "Port "
              + port
              + " ("
              + what
              + ") is already in use: stop what uses it, or pass --"
              + option
              + " <port>");
    }
  }

  public static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** A port nothing listens on right now. */
  public static int free() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException("No free port", e);
    }
  }
}
