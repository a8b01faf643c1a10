package io.placebrain.flink.connector.postgres.copy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.PublicEvolving;
import org.postgresql.copy.CopyIn;

/**
 * Rows encoded in PostgreSQL's binary COPY format, buffered in one growable array that is reused
 * from batch to batch: encoding a row allocates nothing but what a String's UTF-8 bytes need.
 *
 * <p>Format: a 19-byte header, then per row a 16-bit field count and per field a 32-bit length (-1
 * for NULL) followed by the value in network byte order; a 16-bit -1 ends the stream.
 */
@PublicEvolving
public final class BinaryCopyBuffer {

  private static final byte[] HEADER = {
    'P',
    'G',
    'C',
    'O',
    'P',
    'Y',
    '\n',
    (byte) 0xff,
    '\r',
    '\n',
    0, // signature
    0,
    0,
    0,
    0, // flags: no OIDs
    0,
    0,
    0,
    0 // header extension length
  };
  private static final byte[] TRAILER = {(byte) 0xff, (byte) 0xff};

  /** Microseconds between 1970-01-01 (Java) and 2000-01-01 (PostgreSQL's epoch). */
  public static final long POSTGRES_EPOCH_OFFSET_MICROS = 946_684_800_000_000L;

  private byte[] bytes;
  private int size;
  private int rows;

  /** Where each row starts in {@link #bytes}, so a batch can be sent in parts. */
  private int[] rowStarts = new int[1024];

  public BinaryCopyBuffer(int initialCapacity) {
    bytes = new byte[Math.max(64, initialCapacity)];
  }

  /** Starts a row of {@code fields} fields. */
  public void startRow(int fields) {
    ensure(2);
    if (rows == rowStarts.length) {
      rowStarts = Arrays.copyOf(rowStarts, rows * 2);
    }
    rowStarts[rows] = size;
    putShort(fields);
    rows++;
  }

  /** A {@code timestamptz} given as microseconds since 1970-01-01 UTC. */
  public void timestampMicros(long epochMicros) {
    ensure(12);
    putInt(8);
    putLong(epochMicros - POSTGRES_EPOCH_OFFSET_MICROS);
  }

  public void uuid(long mostSignificant, long leastSignificant) {
    ensure(20);
    putInt(16);
    putLong(mostSignificant);
    putLong(leastSignificant);
  }

  public void float8(double value) {
    ensure(12);
    putInt(8);
    putLong(Double.doubleToRawLongBits(value));
  }

  public void int8(long value) {
    ensure(12);
    putInt(8);
    putLong(value);
  }

  public void text(String value) {
    if (value == null) {
      nullField();
      return;
    }
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    ensure(4 + utf8.length);
    putInt(utf8.length);
    System.arraycopy(utf8, 0, bytes, size, utf8.length);
    size += utf8.length;
  }

  public void nullField() {
    ensure(4);
    putInt(-1);
  }

  public int rows() {
    return rows;
  }

  /** Bytes of encoded rows (without header and trailer). */
  public int sizeInBytes() {
    return size;
  }

  public boolean isEmpty() {
    return rows == 0;
  }

  /** Sends the buffered rows as one complete COPY stream and ends the COPY. */
  public long sendTo(CopyIn copy) throws IOException {
    return sendTo(copy, 0, rows);
  }

  /** Sends rows {@code from} (inclusive) to {@code to} (exclusive) as one complete COPY stream. */
  public long sendTo(CopyIn copy, int from, int to) throws IOException {
    int start = rowStart(from);
    int end = rowStart(to);
    try {
      copy.writeToCopy(HEADER, 0, HEADER.length);
      copy.writeToCopy(bytes, start, end - start);
      copy.writeToCopy(TRAILER, 0, TRAILER.length);
      return copy.endCopy();
    } catch (java.sql.SQLException e) {
      cancelQuietly(copy);
      throw new IOException(e);
    }
  }

  /**
   * Streams the rows added since {@code sentBytes} (a value this method or 0 returned before) into
   * an open COPY, the header first, and returns the new mark; the rows stay buffered. Lets the
   * database work on a batch while later rows of it are still being encoded, instead of only once
   * the batch is complete. {@link #finishStream} ends it.
   */
  @Internal
  public int stream(CopyIn copy, int sentBytes) throws IOException {
    try {
      if (sentBytes == 0) {
        copy.writeToCopy(HEADER, 0, HEADER.length);
      }
      copy.writeToCopy(bytes, sentBytes, size - sentBytes);
      return size;
    } catch (java.sql.SQLException e) {
      cancelQuietly(copy);
      throw new IOException(e);
    }
  }

  /** Sends what {@link #stream} has not sent yet, then the trailer, and ends the COPY. */
  @Internal
  public long finishStream(CopyIn copy, int sentBytes) throws IOException {
    stream(copy, sentBytes);
    try {
      copy.writeToCopy(TRAILER, 0, TRAILER.length);
      return copy.endCopy();
    } catch (java.sql.SQLException e) {
      cancelQuietly(copy);
      throw new IOException(e);
    }
  }

  private static void cancelQuietly(CopyIn copy) {
    if (copy.isActive()) {
      try {
        copy.cancelCopy();
      } catch (java.sql.SQLException ignored) {
        // The server already ended the COPY; the original failure is what matters.
      }
    }
  }

  /** Row {@code row} alone as a complete binary COPY stream, e.g. to keep a refused row. */
  public byte[] rowAsCopyStream(int row) {
    int start = rowStart(row);
    int end = rowStart(row + 1);
    byte[] stream = new byte[HEADER.length + end - start + TRAILER.length];
    System.arraycopy(HEADER, 0, stream, 0, HEADER.length);
    System.arraycopy(bytes, start, stream, HEADER.length, end - start);
    System.arraycopy(TRAILER, 0, stream, HEADER.length + end - start, TRAILER.length);
    return stream;
  }

  private int rowStart(int row) {
    if (row < 0 || row > rows) {
      throw new IndexOutOfBoundsException("row " + row + " of " + rows);
    }
    return row == rows ? size : rowStarts[row];
  }

  /** The whole COPY stream as bytes, for tests and tools. */
  public byte[] toCopyStream() {
    byte[] stream = new byte[HEADER.length + size + TRAILER.length];
    System.arraycopy(HEADER, 0, stream, 0, HEADER.length);
    System.arraycopy(bytes, 0, stream, HEADER.length, size);
    System.arraycopy(TRAILER, 0, stream, HEADER.length + size, TRAILER.length);
    return stream;
  }

  /** Forgets the rows, keeping the array for the next batch. */
  public void clear() {
    size = 0;
    rows = 0;
  }

  private void ensure(int more) {
    if (size + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
    }
  }

  private void putShort(int value) {
    bytes[size++] = (byte) (value >>> 8);
    bytes[size++] = (byte) value;
  }

  private void putInt(int value) {
    bytes[size++] = (byte) (value >>> 24);
    bytes[size++] = (byte) (value >>> 16);
    bytes[size++] = (byte) (value >>> 8);
    bytes[size++] = (byte) value;
  }

  private void putLong(long value) {
    putInt((int) (value >>> 32));
    putInt((int) value);
  }
}
