package io.placebrain.collector.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * The highest heap in use right after a garbage collection while it watches: what the process keeps
 * alive, not how much garbage the collector lets accumulate in between.
 */
final class HeapWatcher implements AutoCloseable {

  private volatile long peakAfterGc;

  /** Full collections seen; the notification of one arrives after {@code System.gc()} returns. */
  private long collections;

  private final NotificationListener listener = this::onGc;
  private final Set<String> heapPools = new HashSet<>();

  HeapWatcher() {
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        heapPools.add(pool.getName());
      }
    }
    for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
      ((NotificationEmitter) collector).addNotificationListener(listener, null, null);
    }
  }

  private void onGc(Notification notification, Object handback) {
    if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(
        notification.getType())) {
      return;
    }
    GarbageCollectionNotificationInfo info =
        GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
    if (!"System.gc()".equals(info.getGcCause())) {
      return;
    }
    long used = 0;
    for (Map.Entry<String, MemoryUsage> pool :
        info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
      if (heapPools.contains(pool.getKey())) {
        used += pool.getValue().getUsed();
      }
    }
    if (used > peakAfterGc) {
      peakAfterGc = used;
    }
    synchronized (this) {
      collections++;
      notifyAll();
    }
  }

  /**
   * A full collection now; its result counts towards the peak once this returns (it waits for the
   * collection's notification, which the JVM delivers on another thread, at most 10 s).
   */
  synchronized void sample() throws InterruptedException {
    long before = collections;
    System.gc();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (collections == before && System.nanoTime() < deadline) {
      wait(100);
    }
  }

  double peakMb() {
    return peakAfterGc / (1024.0 * 1024.0);
  }

  @Override
  public void close() throws Exception {
    for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
      ((NotificationEmitter) collector).removeNotificationListener(listener);
    }
  }
}
