package io.placebrain.collector.testing;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Stops the shared services when the JUnit session ends, after the last test of the JVM and before
 * it exits. Registered through {@code META-INF/services}.
 */
public final class TestServicesShutdown implements LauncherSessionListener {

  @Override
  public void launcherSessionClosed(LauncherSession session) {
    TestServices.stopAll();
  }
}
