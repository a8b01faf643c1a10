package io.placebrain.collector.copysink.committer;

/**
 * A prepared transaction holding one writer subtask's rows of one checkpoint, to be committed once
 * the checkpoint is complete.
 *
 * @param transactionId the name given to {@code PREPARE TRANSACTION}
 * @param rows how many rows it holds, for metrics and logs
 */
public record CopyCommittable(String transactionId, long rows) {}
