package io.placebrain.flink.connector.postgres.copy;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Objects;
import java.util.UUID;
import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.PublicEvolving;

/**
 * One typed value bound to a {@code ?} of an {@link AfterCommitStatement}. Only these types exist,
 * so that what a checkpoint stores is data, never SQL.
 */
@PublicEvolving
public final class StatementParameter implements Serializable {

  private static final long serialVersionUID = 1L;

  /** The parameter types, with the tag each has in checkpoints (never reuse a tag). */
  @PublicEvolving
  public enum Type {
    NULL(0),
    TEXT(1),
    INT8(2),
    FLOAT8(3),
    BOOL(4),
    UUID(5),
    TIMESTAMP_MICROS(6);

    private final int tag;

    Type(int tag) {
      this.tag = tag;
    }

    static Type ofTag(int tag) throws IOException {
      for (Type type : values()) {
        if (type.tag == tag) {
          return type;
        }
      }
      throw new IOException("Unknown after-commit parameter type " + tag);
    }
  }

  /** 4713-01-01 BC, 00:00 UTC: the earliest instant the driver binds as itself. */
  private static final long MIN_TIMESTAMP_MICROS = -210_863_520_000_000_000L;

  private static final StatementParameter NULL_VALUE = new StatementParameter(Type.NULL, null, 0);

  private final Type type;

  /** The value of TEXT, and of UUID as its canonical text; null otherwise. */
  private final String text;

  /** INT8, TIMESTAMP_MICROS, BOOL (1 or 0), FLOAT8 (its bits); 0 otherwise. */
  private final long bits;

  private StatementParameter(Type type, String text, long bits) {
    this.type = type;
    this.text = text;
    this.bits = bits;
  }

  /** SQL NULL; the server infers its type from where the placeholder stands. */
  public static StatementParameter sqlNull() {
    return NULL_VALUE;
  }

  /**
   * A text value. Refuses what PostgreSQL cannot store unchanged: a NUL character (the server
   * refuses it, and only at the commit, after the rows are committed) and a lone surrogate (the
   * driver would store it as {@code ?}). Strip or replace them before binding.
   *
   * @throws IllegalArgumentException if the value holds either
   */
  public static StatementParameter text(String value) {
    if (value == null) {
      return NULL_VALUE;
    }
    checkStorable(value);
    return new StatementParameter(Type.TEXT, value, 0);
  }

  public static StatementParameter int8(long value) {
    return new StatementParameter(Type.INT8, null, value);
  }

  public static StatementParameter float8(double value) {
    return new StatementParameter(Type.FLOAT8, null, Double.doubleToLongBits(value));
  }

  public static StatementParameter bool(boolean value) {
    return new StatementParameter(Type.BOOL, null, value ? 1 : 0);
  }

  public static StatementParameter uuid(UUID value) {
    return value == null ? NULL_VALUE : new StatementParameter(Type.UUID, value.toString(), 0);
  }

  /**
   * A {@code timestamptz}: microseconds since the epoch, UTC, from 4713-01-01 BC on (the driver
   * stores earlier instants as {@code -infinity}; every later {@code long} fits PostgreSQL's
   * range).
   *
   * @throws IllegalArgumentException for an instant before 4713-01-01 BC
   */
  public static StatementParameter timestampMicros(long micros) {
    if (micros < MIN_TIMESTAMP_MICROS) {
      throw new IllegalArgumentException(
          "A timestamp parameter must not be before 4713-01-01 BC (the database driver would store"
              + " -infinity): "
              + micros
              + " µs since the epoch");
    }
    return new StatementParameter(Type.TIMESTAMP_MICROS, null, micros);
  }

  public Type type() {
    return type;
  }

  /** The value as JDBC would return it: String, Long, Double, Boolean, UUID, OffsetDateTime. */
  public Object value() {
    switch (type) {
      case TEXT:
        return text;
      case INT8:
        return bits;
      case FLOAT8:
        return Double.longBitsToDouble(bits);
      case BOOL:
        return bits != 0;
      case UUID:
        return UUID.fromString(text);
      case TIMESTAMP_MICROS:
        return timestamp(bits);
      default:
        return null;
    }
  }

  /** Binds the value to parameter {@code index} (1-based) of {@code statement}. */
  @Internal
  public void bindTo(PreparedStatement statement, int index) throws SQLException {
    switch (type) {
      case TEXT:
        statement.setString(index, text);
        break;
      case INT8:
        statement.setLong(index, bits);
        break;
      case FLOAT8:
        statement.setDouble(index, Double.longBitsToDouble(bits));
        break;
      case BOOL:
        statement.setBoolean(index, bits != 0);
        break;
      case UUID:
        statement.setObject(index, UUID.fromString(text));
        break;
      case TIMESTAMP_MICROS:
        statement.setObject(index, timestamp(bits));
        break;
      default:
        statement.setNull(index, Types.NULL);
    }
  }

  /** Writes the value as committables of version 4 store it. */
  @Internal
  public void writeTo(DataOutput out) throws IOException {
    out.writeByte(type.tag);
    switch (type) {
      case TEXT:
      case UUID:
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        out.writeInt(utf8.length);
        out.write(utf8);
        break;
      case NULL:
        break;
      default:
        out.writeLong(bits);
    }
  }

  /** Reads a value {@link #writeTo} wrote. */
  @Internal
  public static StatementParameter readFrom(DataInput in) throws IOException {
    Type type = Type.ofTag(in.readUnsignedByte());
    switch (type) {
      case NULL:
        return NULL_VALUE;
      case TEXT:
      case UUID:
        byte[] utf8 = new byte[in.readInt()];
        in.readFully(utf8);
        return new StatementParameter(type, new String(utf8, StandardCharsets.UTF_8), 0);
      default:
        return new StatementParameter(type, null, in.readLong());
    }
  }

  private static void checkStorable(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '\0') {
        throw new IllegalArgumentException(
            "A text parameter must not contain a NUL character (PostgreSQL cannot store it), at"
                + " index "
                + i);
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < value.length()
          && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException(
            "A text parameter must be well-formed UTF-16; a lone surrogate at index "
                + i
                + " would be stored as '?'");
      }
    }
  }

  private static OffsetDateTime timestamp(long micros) {
    return Instant.ofEpochSecond(
            Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L)
        .atOffset(ZoneOffset.UTC);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof StatementParameter
        && ((StatementParameter) other).type == type
        && ((StatementParameter) other).bits == bits
        && Objects.equals(((StatementParameter) other).text, text);
  }

  @Override
  public int hashCode() {
    return Objects.hash(type, text, bits);
  }

  @Override
  public String toString() {
    return type == Type.NULL ? "NULL" : type + " " + value();
  }
}
