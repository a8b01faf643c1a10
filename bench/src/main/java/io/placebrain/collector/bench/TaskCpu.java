package io.placebrain.collector.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * CPU time of a job's task threads, from the JVM's per-thread CPU counters: every Flink task thread
 * ("… (1/2)#0") and the Kafka source's fetchers. Threads end with the job, so each one's newest
 * counter is kept from the samples taken while it runs.
 */
final class TaskCpu {

  private static final Pattern TASK_THREAD =
      Pattern.compile(".*\\(\\d+/\\d+\\)#\\d+$|^Source Data Fetcher for .*");

  private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
  private final Map<Long, Long> cpuNanosByThread = new HashMap<>();

  TaskCpu() {
    if (!threads.isThreadCpuTimeSupported()) {
      throw new IllegalStateException("This JVM has no per-thread CPU counters");
    }
    threads.setThreadCpuTimeEnabled(true);
  }

  /** Reads the counters of the task threads alive now. */
  void sample() {
    for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info != null && TASK_THREAD.matcher(info.getThreadName()).matches()) {
        long cpu = threads.getThreadCpuTime(info.getThreadId());
        if (cpu > 0) {
          cpuNanosByThread.merge(info.getThreadId(), cpu, Math::max);
        }
      }
    }
  }

  /** Task threads' CPU time seen so far, in milliseconds. */
  double totalMs() {
    return cpuNanosByThread.values().stream().mapToLong(Long::longValue).sum() / 1e6;
  }
}
