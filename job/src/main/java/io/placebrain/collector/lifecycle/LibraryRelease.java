package io.placebrain.collector.lifecycle;

import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Collections;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.util.UserCodeClassLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases what libraries in the job jar hold for the whole class loader when Flink lets go of the
 * job's classes (its user-code class loader release hook, run once all of the job's tasks on a
 * TaskManager are gone). Without it, every redeploy on a session cluster leaves the previous job's
 * classes loaded: the MQTT client's RxJava scheduler threads and the JDBC driver's registration in
 * {@link DriverManager} (a JVM-wide registry) keep the old class loader reachable, and the
 * TaskManager eventually dies with {@code OutOfMemoryError: Metaspace}.
 *
 * <p>Per-task resources (connections, clients, timers) are closed by their tasks; only what is
 * shared by every task of the job in this JVM is released here.
 */
public final class LibraryRelease {

  private static final Logger LOG = LoggerFactory.getLogger(LibraryRelease.class);
  private static final String HOOK = "collector-library-release";

  private LibraryRelease() {}

  /** Registers the release once per class loader; any task of the job may call it. */
  public static void registerFor(RuntimeContext context) {
    context.registerUserCodeClassLoaderReleaseHookIfAbsent(HOOK, LibraryRelease::release);
  }

  /** The same for a sink writer's context. */
  public static void registerFor(UserCodeClassLoader classLoader) {
    classLoader.registerReleaseHookIfAbsent(HOOK, LibraryRelease::release);
  }

  static void release() {
    // The loader of the job's own classes (Flink hands tasks a wrapper around it, not it).
    ClassLoader jobClassLoader = LibraryRelease.class.getClassLoader();
    if (jobClassLoader == RuntimeContext.class.getClassLoader()) {
      // The job's classes share Flink's loader (a MiniCluster in tests, or the jar in Flink's
      // lib/): these libraries outlive the job and serve whatever else runs in this JVM.
      return;
    }
    stopRxJavaSchedulers();
    int drivers = deregisterJdbcDrivers(jobClassLoader);
    LOG.info(
        "Released the job's libraries: RxJava schedulers stopped, {} JDBC drivers deregistered",
        drivers);
  }

  /**
   * Deregisters the JDBC drivers this job's class loader registered, where that loader is not
   * Flink's: for code that ran outside any task, such as {@code main} run by the JobManager, whose
   * class loader nothing else releases.
   */
  public static void releaseJdbcDrivers() {
    ClassLoader jobClassLoader = LibraryRelease.class.getClassLoader();
    if (jobClassLoader != RuntimeContext.class.getClassLoader()) {
      deregisterJdbcDrivers(jobClassLoader);
    }
  }

  /**
   * RxJava's schedulers (the MQTT client's callbacks run on them) start static thread pools on
   * first use and keep them for the life of the class; their threads reference this class loader.
   */
  private static void stopRxJavaSchedulers() {
    try {
      io.reactivex.schedulers.Schedulers.shutdown();
    } catch (RuntimeException | LinkageError e) {
      LOG.warn("Could not stop RxJava's schedulers; the job's classes may stay loaded", e);
    }
  }

  /** Drivers register themselves in the JVM-wide {@link DriverManager} when their class loads. */
  private static int deregisterJdbcDrivers(ClassLoader jobClassLoader) {
    int deregistered = 0;
    for (Driver driver : Collections.list(DriverManager.getDrivers())) {
      if (driver.getClass().getClassLoader() == jobClassLoader) {
        try {
          DriverManager.deregisterDriver(driver);
          deregistered++;
        } catch (SQLException | SecurityException e) {
          LOG.warn("Could not deregister JDBC driver {}", driver.getClass().getName(), e);
        }
      }
    }
    return deregistered;
  }
}
