package io.placebrain.flink.connector.postgres.copy.writer;

import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.metrics.groups.SinkWriterMetricGroup;

/**
 * What a writer needs from Flink, small enough to build by hand in a unit test.
 *
 * @param subtask index of this writer among its parallel instances
 * @param parallelism number of parallel writers
 * @param attemptNumber Flink's attempt number of this subtask: a restarted subtask's is higher
 * @param restoredCheckpointId the checkpoint the job restarted from, if any
 * @param timers runs flush and maintenance timers in the task's thread
 * @param metrics where the writer registers its metrics
 * @param jobId the job's id, or null when unknown; names the writer's database session so that a
 *     restarted subtask recognises the session of its earlier attempt
 * @param restoredPrefixes the transaction prefixes recorded in the restored writer state, each with
 *     the job tags recorded with it (empty when the state recorded none)
 */
@Internal
public record WriterContext(
    int subtask,
    int parallelism,
    int attemptNumber,
    OptionalLong restoredCheckpointId,
    ProcessingTimeService timers,
    SinkWriterMetricGroup metrics,
    String jobId,
    Map<String, Set<String>> restoredPrefixes) {

  public WriterContext {
    Map<String, Set<String>> copy = new TreeMap<>();
    restoredPrefixes.forEach((prefix, tags) -> copy.put(prefix, Set.copyOf(tags)));
    restoredPrefixes = Collections.unmodifiableMap(copy);
  }

  public WriterContext(
      int subtask,
      int parallelism,
      OptionalLong restoredCheckpointId,
      ProcessingTimeService timers,
      SinkWriterMetricGroup metrics,
      String jobId) {
    this(subtask, parallelism, 0, restoredCheckpointId, timers, metrics, jobId, Map.of());
  }

  public WriterContext(
      int subtask,
      int parallelism,
      OptionalLong restoredCheckpointId,
      ProcessingTimeService timers,
      SinkWriterMetricGroup metrics) {
    this(subtask, parallelism, restoredCheckpointId, timers, metrics, null);
  }

  /** This context as seen by another attempt of the same subtask. */
  public WriterContext withAttemptNumber(int attempt) {
    return new WriterContext(
        subtask,
        parallelism,
        attempt,
        restoredCheckpointId,
        timers,
        metrics,
        jobId,
        restoredPrefixes);
  }

  /**
   * This context with the prefixes and job tags recorded in the restored writer state. A prefix
   * restored from any entry without a tag (state of a version that recorded none) maps to no tag:
   * its transactions cannot be told apart by job.
   */
  public WriterContext withRestoredState(Collection<CopyWriterState> state) {
    Map<String, Set<String>> prefixes = new TreeMap<>();
    Set<String> untagged = new HashSet<>();
    for (CopyWriterState entry : state) {
      if (entry.transactionPrefix() == null) {
        continue;
      }
      Set<String> tags = prefixes.computeIfAbsent(entry.transactionPrefix(), p -> new HashSet<>());
      if (entry.jobTag() == null) {
        untagged.add(entry.transactionPrefix());
      } else {
        tags.add(entry.jobTag());
      }
    }
    Map<String, Set<String>> restored = new TreeMap<>();
    prefixes.forEach(
        (prefix, tags) -> restored.put(prefix, untagged.contains(prefix) ? Set.of() : tags));
    return new WriterContext(
        subtask,
        parallelism,
        attemptNumber,
        restoredCheckpointId,
        timers,
        metrics,
        jobId,
        restored);
  }

  public static WriterContext of(WriterInitContext context) {
    return new WriterContext(
        context.getTaskInfo().getIndexOfThisSubtask(),
        context.getTaskInfo().getNumberOfParallelSubtasks(),
        context.getTaskInfo().getAttemptNumber(),
        context.getRestoredCheckpointId(),
        context.getProcessingTimeService(),
        context.metricGroup(),
        context.getJobInfo().getJobId().toHexString(),
        Map.of());
  }
}
