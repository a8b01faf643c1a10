package io.placebrain.collector.testing.process;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A JVM (a Flink JobManager or TaskManager, a Kafka broker) started beside the test JVM. It is
 * tethered to the test JVM: when that exits, however it exits, the child is killed too (see {@code
 * tethered.sh}).
 */
public final class ChildProcess implements AutoCloseable {

  private static Path tether;

  private final String name;
  private final Process wrapper;
  private final long pid;
  private final Path output;

  private ChildProcess(String name, Process wrapper, long pid, Path output) {
    this.name = name;
    this.wrapper = wrapper;
    this.pid = pid;
    this.output = output;
  }

  /** Starts {@code command} with the extra environment; its output goes to {@code output}. */
  public static ChildProcess start(
      String name, List<String> command, Map<String, String> environment, Path output)
      throws IOException, InterruptedException {
    Path pidFile = output.resolveSibling(output.getFileName() + ".pid");
    Files.deleteIfExists(pidFile);
    List<String> full = new ArrayList<>(List.of("bash", tether().toString()));
    full.add(pidFile.toString());
    full.add(output.toString());
    full.addAll(command);
    ProcessBuilder builder = new ProcessBuilder(full);
    builder.environment().putAll(environment);
    builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    builder.redirectError(ProcessBuilder.Redirect.appendTo(output.toFile()));
    // Standard input stays a pipe from this JVM: the tether.
    Process wrapper = builder.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(pidFile) || Files.readString(pidFile).isBlank()) {
      if (!wrapper.isAlive() || System.nanoTime() > deadline) {
        throw new IOException(name + " did not start; see " + output);
      }
      Thread.sleep(20);
    }
    long pid = Long.parseLong(Files.readString(pidFile).trim());
    return new ChildProcess(name, wrapper, pid, output);
  }

  private static synchronized Path tether() throws IOException {
    if (tether == null) {
      tether = Files.createTempFile("collector-tethered-", ".sh");
      tether.toFile().deleteOnExit();
      try (InputStream script = ChildProcess.class.getResourceAsStream("tethered.sh")) {
        Files.copy(script, tether, StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return tether;
  }

  public long pid() {
    return pid;
  }

  public boolean isAlive() {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  public Path output() {
    return output;
  }

  /** SIGKILL, as a crashed machine or the kernel's OOM killer would stop it; waits until gone. */
  public void kill() {
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    try {
      if (!wrapper.waitFor(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException(name + " (pid " + pid + ") survived SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Waits for the process to exit by itself; returns its exit code. */
  public int waitFor(Duration timeout) throws InterruptedException {
    if (!wrapper.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(name + " still running after " + timeout);
    }
    return wrapper.exitValue();
  }

  public String outputText() {
    try {
      return Files.readString(output);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    if (isAlive()) {
      kill();
    }
    wrapper.destroyForcibly();
  }

  @Override
  public String toString() {
    return name + " (pid " + pid + ")";
  }
}
