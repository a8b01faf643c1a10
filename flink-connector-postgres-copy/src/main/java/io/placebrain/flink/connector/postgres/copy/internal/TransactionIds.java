package io.placebrain.flink.connector.postgres.copy.internal;

import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.flink.annotation.Internal;

/**
 * Names of prepared transactions: {@code <prefix>:<checkpoint>:<subtask>:<nonce>}.
 *
 * <p>The checkpoint part is a lower bound of the checkpoint the transaction belongs to: the writer
 * learns a checkpoint's id only after it prepared that checkpoint's transaction, so it labels each
 * transaction with one more than the last id it saw. That is enough for recovery from checkpoint
 * {@code R}: a transaction prepared after the writer snapshotted {@code R} carries a label above
 * {@code R}; one that belongs to {@code R} or earlier carries a label of at most {@code R}. The
 * nonce keeps names unique when a restarted job reuses labels; its first 8 hex digits are those of
 * the job id (a tag of the job that prepared it), the last 8 random. Names of earlier versions
 * carry an 8-digit random nonce and no tag.
 */
@Internal
public final class TransactionIds {

  static final char SEPARATOR = ':';

  private TransactionIds() {}

  /** The job tag of writers that do not know their job (tests). */
  public static final String UNKNOWN_JOB = "00000000";

  public static String name(String prefix, long checkpointLabel, int subtask) {
    return name(prefix, checkpointLabel, subtask, UNKNOWN_JOB);
  }

  /**
   * @param jobTag the job's tag, see {@link #jobTag(String)}
   */
  public static String name(String prefix, long checkpointLabel, int subtask, String jobTag) {
    return prefix
        + SEPARATOR
        + checkpointLabel
        + SEPARATOR
        + subtask
        + SEPARATOR
        + jobTag
        + String.format("%08x", ThreadLocalRandom.current().nextInt());
  }

  /**
   * The tag of a job in its transaction names: 8 hex digits of a checksum of its whole id. Not a
   * prefix of the id: in application mode Flink derives job ids from the cluster id as {@code
   * (hash, 0)}, so their first digits are all {@code ffffffff} or {@code 00000000}.
   */
  public static String jobTag(String jobId) {
    if (jobId == null || jobId.isEmpty()) {
      return UNKNOWN_JOB;
    }
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(
        jobId.toLowerCase(java.util.Locale.ROOT).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    String tag = String.format("%08x", crc.getValue());
    return tag.equals(UNKNOWN_JOB) ? "00000001" : tag;
  }

  /** The job tag of a name this prefix created, or empty (another prefix, or an untagged name). */
  public static java.util.Optional<String> jobTagOf(String prefix, String name) {
    if (!name.startsWith(prefix + SEPARATOR)) {
      return java.util.Optional.empty();
    }
    String[] parts = name.substring(prefix.length() + 1).split(String.valueOf(SEPARATOR), -1);
    if (parts.length != 3 || parts[2].length() != 16) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(parts[2].substring(0, 8));
  }

  /**
   * The prefix of a name shaped as this class names transactions ({@code
   * <prefix>:<label>:<subtask>:<nonce>}, the nonce 8 or 16 hex digits), or empty.
   */
  public static java.util.Optional<String> prefixOf(String name) {
    String[] parts = name.split(String.valueOf(SEPARATOR), -1);
    if (parts.length != 4
        || parts[0].isEmpty()
        || !parts[1].matches("[0-9]{1,19}")
        || !parts[2].matches("[0-9]{1,10}")
        || !parts[3].matches("[0-9a-f]{8}|[0-9a-f]{16}")) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(parts[0]);
  }

  /** The checkpoint label of a name this prefix created, or empty if the name is not ours. */
  public static OptionalLong checkpointLabel(String prefix, String name) {
    return part(prefix, name, 0);
  }

  /** The writer subtask that prepared a name this prefix created, or empty. */
  public static OptionalLong subtask(String prefix, String name) {
    return part(prefix, name, 1);
  }

  private static OptionalLong part(String prefix, String name, int index) {
    if (!name.startsWith(prefix + SEPARATOR)) {
      return OptionalLong.empty();
    }
    String[] parts = name.substring(prefix.length() + 1).split(String.valueOf(SEPARATOR), -1);
    if (parts.length != 3) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(parts[index]));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /** The longest prefix, in bytes: names must fit PostgreSQL's 200-byte transaction ids. */
  public static final int MAX_PREFIX_BYTES = 120;

  /** Checks a prefix is usable: non-empty, no separator, and leaves room in PostgreSQL's 200. */
  public static void validatePrefix(String prefix) {
    if (prefix == null || prefix.isEmpty()) {
      throw new IllegalArgumentException("transaction id prefix must not be empty");
    }
    if (prefix.indexOf(SEPARATOR) >= 0 || prefix.indexOf('\'') >= 0) {
      throw new IllegalArgumentException(
          "transaction id prefix must not contain ':' or quotes: " + prefix);
    }
    int bytes = prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    if (bytes > MAX_PREFIX_BYTES) {
      throw new IllegalArgumentException(
          "transaction id prefix of "
              + bytes
              + " bytes (UTF-8); at most "
              + MAX_PREFIX_BYTES
              + " fit PostgreSQL's transaction ids");
    }
  }
}
