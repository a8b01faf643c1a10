package io.placebrain.collector.copysink.writer;

import java.util.Collection;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.metrics.MetricGroup;

/**
 * What a writer needs from Flink, small enough to build by hand in a unit test.
 *
 * @param subtask index of this writer among its parallel instances
 * @param parallelism number of parallel writers
 * @param restoredCheckpointId the checkpoint the job restarted from, if any
 * @param timers runs flush and maintenance timers in the task's thread
 * @param metrics where the writer registers its metrics
 * @param jobId the job's id, or null when unknown; names the writer's database session so that a
 *     restarted subtask recognises the session of its earlier attempt
 * @param restoredPrefixes the transaction prefixes recorded in the restored writer state
 */
public record WriterContext(
    int subtask,
    int parallelism,
    OptionalLong restoredCheckpointId,
    ProcessingTimeService timers,
    MetricGroup metrics,
    String jobId,
    Set<String> restoredPrefixes) {

  public WriterContext {
    restoredPrefixes = Set.copyOf(restoredPrefixes);
  }

  public WriterContext(
      int subtask,
      int parallelism,
      OptionalLong restoredCheckpointId,
      ProcessingTimeService timers,
      MetricGroup metrics,
      String jobId) {
    this(subtask, parallelism, restoredCheckpointId, timers, metrics, jobId, Set.of());
  }

  public WriterContext(
      int subtask,
      int parallelism,
      OptionalLong restoredCheckpointId,
      ProcessingTimeService timers,
      MetricGroup metrics) {
    this(subtask, parallelism, restoredCheckpointId, timers, metrics, null);
  }

  /** This context with the prefixes recorded in the restored writer state. */
  public WriterContext withRestoredState(Collection<CopyWriterState> state) {
    Set<String> prefixes = new TreeSet<>();
    for (CopyWriterState entry : state) {
      if (entry.transactionPrefix() != null) {
        prefixes.add(entry.transactionPrefix());
      }
    }
    return new WriterContext(
        subtask, parallelism, restoredCheckpointId, timers, metrics, jobId, prefixes);
  }

  public static WriterContext of(WriterInitContext context) {
    return new WriterContext(
        context.getTaskInfo().getIndexOfThisSubtask(),
        context.getTaskInfo().getNumberOfParallelSubtasks(),
        context.getRestoredCheckpointId(),
        context.getProcessingTimeService(),
        context.metricGroup(),
        context.getJobInfo().getJobId().toHexString());
  }
}
