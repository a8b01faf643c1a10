package io.placebrain.flink.connector.postgres.copy.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which job may prepare and roll back a sink's transactions: a session-level PostgreSQL advisory
 * lock per (transaction prefix, writer subtask), held by the writer's connection for as long as the
 * connection lives. A second job started with the same {@code sink.transaction-prefix} cannot take
 * it, so it fails at start instead of writing duplicates or rolling back the first job's
 * transactions.
 *
 * <p>The lock key is 64 bits: the high half a hash of the prefix, the low half the subtask index.
 * {@code pg_locks} shows it as {@code classid} and {@code objid}, so the locks of one prefix are
 * found without knowing the former parallelism (see {@link #acquire}).
 *
 * <p>Restarts: a restarted subtask's old connection may still be open for a moment (Flink cancels
 * the old attempt first, but the server ends its session a little later), or for long if the old
 * TaskManager vanished without closing it. Each writer's connection therefore names its job,
 * subtask and attempt in {@code application_name}; a session of an <em>earlier</em> attempt of the
 * same job holding the lock is ended ({@code pg_terminate_backend}: its open transaction rolls
 * back, prepared ones stay), any other holder is waited for, up to a bound, and then reported. A
 * zombie of an earlier attempt that reconnects never ends the session of the attempt that replaced
 * it: it finds a later attempt and fails.
 *
 * <p>Sessions of another job whose host vanished (say the whole cluster was lost, then the job
 * resumed from its checkpoint under a new job id) cannot be told from a running job; they end when
 * the server notices the peer is gone. Each owner session asks the server to probe its peer after
 * {@value #KEEPALIVE_IDLE_SECONDS} s of silence ({@link #boundDeadPeerDetection}), so that takes
 * about a minute instead of the operating system's default of over two hours, and the waiting
 * subtask's restarts succeed once it is over.
 *
 * <p>Limits: the lock is held only while the connection lives. When the database connection is lost
 * and re-established the lock is taken again, and in that short gap a second job that starts just
 * then could take it.
 */
@Internal
public final class TransactionOwnership {

  private static final Logger LOG = LoggerFactory.getLogger(TransactionOwnership.class);

  private TransactionOwnership() {}

  /** The advisory lock key of a prefix and subtask. */
  public static long key(String prefix, int subtask) {
    return ((long) prefixHash(prefix) << 32) | (subtask & 0xffffffffL);
  }

  static int prefixHash(String prefix) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(prefix.getBytes(StandardCharsets.UTF_8));
      return ((digest[0] & 0xff) << 24)
          | ((digest[1] & 0xff) << 16)
          | ((digest[2] & 0xff) << 8)
          | (digest[3] & 0xff);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** Seconds of silence after which the server probes an owner session's peer. */
  static final int KEEPALIVE_IDLE_SECONDS = 30;

  /** PostgreSQL's limit on {@code application_name}, in bytes; longer names are cut. */
  private static final int MAX_APPLICATION_NAME = 63;

  /**
   * The {@code application_name} of a writer's connection: names its job, subtask and attempt. The
   * attempt is left out if the name would not fit, and such a session counts as an earlier attempt.
   */
  public static String applicationName(String base, String jobId, int subtask, int attempt) {
    String withoutAttempt = base + " " + jobId + " " + subtask;
    String full = withoutAttempt + " " + attempt;
    return full.length() <= MAX_APPLICATION_NAME ? full : withoutAttempt;
  }

  /**
   * Has the server end this session within about a minute of its peer vanishing (host lost, network
   * cut) instead of after the operating system's keepalive default (over two hours): probes after
   * {@value #KEEPALIVE_IDLE_SECONDS} s of silence, every 10 s, three times, and at most 60 s for
   * data the peer does not acknowledge. Without it the session's locks outlive the lost TaskManager
   * for hours and the restarted job cannot take over its prefix.
   */
  public static void boundDeadPeerDetection(Connection connection) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT set_config('tcp_keepalives_idle', ?, false),"
                + " set_config('tcp_keepalives_interval', '10', false),"
                + " set_config('tcp_keepalives_count', '3', false),"
                + " set_config('tcp_user_timeout', '60000', false)")) {
      statement.setString(1, Integer.toString(KEEPALIVE_IDLE_SECONDS));
      statement.execute();
    }
  }

  /** Sets the connection's {@code application_name} (shown in {@code pg_stat_activity}). */
  public static void identify(Connection connection, String applicationName) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT set_config('application_name', ?, false)")) {
      statement.setString(1, applicationName);
      statement.execute();
    }
  }

  /**
   * Takes the lock of {@code (prefix, subtask)} on this connection, and waits until no other
   * session holds the lock of a former subtask this one takes over after a change of parallelism
   * (former subtask {@code j} with {@code j % parallelism == subtask}, see {@link
   * PreparedTransactions#abortAfter}): its session may still be finishing a {@code PREPARE}.
   *
   * <p>Sessions of an earlier attempt of {@code jobId} holding such a lock are ended; others are
   * waited for until {@code timeout} has passed.
   *
   * @param jobId this writer's job, or null when unknown (then no session counts as its own)
   * @param attempt this writer's attempt number; only sessions of lower attempts are ended
   * @throws PrefixInUseException when another session still holds one of the locks
   */
  public static void acquire(
      Connection connection,
      String prefix,
      int subtask,
      int parallelism,
      String applicationName,
      String jobId,
      int attempt,
      Duration timeout)
      throws SQLException, InterruptedException {
    if (!connection.getAutoCommit()) {
      connection.setAutoCommit(true);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    Backoff backoff = new Backoff(Duration.ofMillis(50), Duration.ofSeconds(1));
    Set<Integer> ended = new HashSet<>();
    boolean owned = false;
    while (true) {
      if (!owned) {
        owned = tryLock(connection, key(prefix, subtask));
      }
      List<Holder> others = holders(connection, prefix, subtask, parallelism);
      if (owned && others.isEmpty()) {
        return;
      }
      for (Holder holder : others) {
        if (holder.isEarlierAttemptOf(applicationName, jobId, attempt) && ended.add(holder.pid)) {
          LOG.warn(
              "Ending PostgreSQL session {} ({}, subtask {} of transaction prefix {}): it belongs"
                  + " to an earlier attempt of this job, which is over",
              holder.pid,
              holder.applicationName,
              holder.subtask,
              prefix);
          terminate(connection, holder.pid);
        }
      }
      if (System.nanoTime() >= deadline) {
        Holder blocking = others.isEmpty() ? null : others.get(0);
        throw new PrefixInUseException(
            prefix, blocking == null ? subtask : blocking.subtask, blocking, timeout);
      }
      backoff.pause();
    }
  }

  private static boolean tryLock(Connection connection, long key) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
      statement.setLong(1, key);
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getBoolean(1);
      }
    }
  }

  /**
   * Other sessions holding the lock of this subtask or of a former subtask it takes over. Since
   * {@code subtask < parallelism}, both are the subtasks {@code j} with {@code j % parallelism ==
   * subtask}.
   */
  private static List<Holder> holders(
      Connection connection, String prefix, int subtask, int parallelism) throws SQLException {
    List<Holder> holders = new ArrayList<>();
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT l.objid::bigint, l.pid, a.application_name, host(a.client_addr),"
                + " a.backend_start::text"
                + " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                + " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
                + " AND l.database = (SELECT oid FROM pg_database"
                + " WHERE datname = current_database())"
                + " AND l.classid::bigint = ? AND l.objid::bigint % ? = ?"
                + " AND l.pid <> pg_backend_pid()"
                + " ORDER BY l.objid::bigint")) {
      query.setLong(1, prefixHash(prefix) & 0xffffffffL);
      query.setLong(2, parallelism);
      query.setLong(3, subtask);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          holders.add(
              new Holder(
                  (int) rows.getLong(1),
                  rows.getInt(2),
                  rows.getString(3),
                  rows.getString(4),
                  rows.getString(5)));
        }
      }
    }
    return holders;
  }

  /**
   * Descriptions of the other sessions that hold a lock of the prefix (of any subtask): a job that
   * writes with it; empty when none does.
   */
  public static List<String> sessionsWriting(Connection connection, String prefix)
      throws SQLException {
    List<String> sessions = new ArrayList<>();
    for (Holder holder : holders(connection, prefix, 0, 1)) {
      sessions.add(holder.describe() + " for subtask " + holder.subtask);
    }
    return sessions;
  }

  private static void terminate(Connection connection, int pid) {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT pg_terminate_backend(?)")) {
      statement.setInt(1, pid);
      statement.execute();
    } catch (SQLException e) {
      // Not allowed (another role) or already gone: waiting for it is all that is left.
      LOG.warn("Could not end PostgreSQL session {}: {}", pid, SqlFailures.describe(e));
    }
  }

  /** A session holding a lock of the prefix; what {@code pg_stat_activity} shows of it. */
  record Holder(
      int subtask, int pid, String applicationName, String client, String connectedSince) {

    /**
     * Whether this session is a writer of {@code jobId} of an attempt before {@code attempt}. A
     * name without an attempt (cut for length, or of an earlier version) counts as earlier.
     */
    boolean isEarlierAttemptOf(String base, String jobId, int attempt) {
      String ofJob = base + " " + jobId + " ";
      if (jobId == null || applicationName == null || !applicationName.startsWith(ofJob)) {
        return false;
      }
      String[] parts = applicationName.substring(ofJob.length()).split(" ", -1);
      if (parts.length < 2) {
        return true;
      }
      try {
        return Integer.parseInt(parts[1]) < attempt;
      } catch (NumberFormatException e) {
        return false;
      }
    }

    String describe() {
      StringBuilder text = new StringBuilder("PostgreSQL session ").append(pid);
      if (applicationName != null) {
        text.append(" (application_name '").append(applicationName).append('\'');
        if (client != null) {
          text.append(", client ").append(client);
        }
        if (connectedSince != null) {
          text.append(", connected since ").append(connectedSince);
        }
        text.append(')');
      }
      return text.toString();
    }
  }

  /** Another session holds the lock of the prefix and subtask: another job writes with it. */
  public static final class PrefixInUseException extends SQLException {

    /** {@code object_in_use}: permanent, a retry does not help. */
    static final String SQL_STATE = "55006";

    PrefixInUseException(String prefix, int subtask, Holder holder, Duration waited) {
      super(message(prefix, subtask, holder, waited), SQL_STATE);
    }

    private static String message(String prefix, int subtask, Holder holder, Duration waited) {
      String text =
          "another job is writing with transaction prefix "
              + prefix
              + " (subtask "
              + subtask
              + ") — give each job its own sink.transaction-prefix.";
      if (holder == null) {
        return text;
      }
      return text
          + " "
          + holder.describe()
          + " holds the prefix's lock for subtask "
          + subtask
          + " and did not release it within "
          + waited.toSeconds()
          + " s; if no job writes with this prefix any more, end that session with SELECT"
          + " pg_terminate_backend("
          + holder.pid
          + ")";
    }
  }
}
