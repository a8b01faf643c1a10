package io.placebrain.collector.bench;

import io.placebrain.collector.testing.postgres.TestDatabase;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

/**
 * CPU time of the two processes a job run keeps busy besides its task threads: this JVM (Flink, the
 * Kafka broker, the benchmark itself) and the PostgreSQL server (postmaster and backends, from
 * Linux's {@code /proc}). Per million readings they give what the whole pipeline costs on any
 * machine, and so what two cores can carry at most. The server's figure needs it on this machine;
 * elsewhere it is NaN.
 */
final class ProcessCpu {

  /**
   * Linux's clock ticks per second for {@code /proc/<pid>/stat} times, as on every common kernel.
   */
  private static final double TICKS_PER_SECOND = 100;

  private final long postmaster;
  private final com.sun.management.OperatingSystemMXBean jvm =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private final long jvmStartNanos;
  private final long serverStartTicks;

  ProcessCpu(TestDatabase db) throws Exception {
    postmaster = postmasterOf(db);
    jvmStartNanos = jvm.getProcessCpuTime();
    serverStartTicks = serverTicks();
  }

  /** This JVM's CPU time since construction, in milliseconds. */
  double jvmMs() {
    return (jvm.getProcessCpuTime() - jvmStartNanos) / 1e6;
  }

  /** The database server's CPU time since construction, in milliseconds; NaN if not local. */
  double serverMs() {
    if (postmaster <= 0) {
      return Double.NaN;
    }
    return (serverTicks() - serverStartTicks) * 1000 / TICKS_PER_SECOND;
  }

  /**
   * The postmaster's own time and that of its ended children, plus every live child's (backends,
   * WAL writer, checkpointer): a backend that ends counts once, in its parent's children's time.
   */
  private long serverTicks() {
    if (postmaster <= 0) {
      return 0;
    }
    long[] own = stat(postmaster);
    if (own == null) {
      return 0;
    }
    long ticks = own[1] + own[2] + own[3] + own[4];
    try (DirectoryStream<Path> processes = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path process : processes) {
        long[] child = stat(Long.parseLong(process.getFileName().toString()));
        if (child != null && child[0] == postmaster) {
          ticks += child[1] + child[2];
        }
      }
    } catch (IOException e) {
      return ticks;
    }
    return ticks;
  }

  /** ppid, utime, stime, cutime, cstime of a process, or null once it is gone. */
  private static long[] stat(long pid) {
    try {
      String line = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // The command name may hold spaces and parentheses: fields start after its last ')'.
      String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
      return new long[] {
        Long.parseLong(fields[1]),
        Long.parseLong(fields[11]),
        Long.parseLong(fields[12]),
        Long.parseLong(fields[13]),
        Long.parseLong(fields[14])
      };
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** The server's postmaster: the parent of this session's backend, if it runs on this machine. */
  private static long postmasterOf(TestDatabase db) throws Exception {
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SELECT pg_backend_pid()")) {
      row.next();
      long[] backend = stat(row.getLong(1));
      return backend == null ? -1 : backend[0];
    }
  }
}
