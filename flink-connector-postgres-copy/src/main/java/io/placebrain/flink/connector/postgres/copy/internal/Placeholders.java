package io.placebrain.flink.connector.postgres.copy.internal;

import org.apache.flink.annotation.Internal;

/**
 * Counts the JDBC {@code ?} placeholders of a statement as the PostgreSQL driver sees them: not
 * inside string literals, quoted identifiers, dollar quotes or comments, and not {@code ??} (the
 * driver's escape for a literal question mark).
 */
@Internal
public final class Placeholders {

  private Placeholders() {}

  public static int count(String sql) {
    int count = 0;
    int i = 0;
    int length = sql.length();
    while (i < length) {
      char c = sql.charAt(i);
      if (c == '\'' || c == '"') {
        i = skipQuoted(sql, i, c);
      } else if (c == '-' && i + 1 < length && sql.charAt(i + 1) == '-') {
        int end = sql.indexOf('\n', i);
        i = end < 0 ? length : end + 1;
      } else if (c == '/' && i + 1 < length && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? length : end + 2;
      } else if (c == '$') {
        i = skipDollarQuoted(sql, i);
      } else if (c == '?') {
        if (i + 1 < length && sql.charAt(i + 1) == '?') {
          i += 2;
        } else {
          count++;
          i++;
        }
      } else {
        i++;
      }
    }
    return count;
  }

  /** Past the closing quote; a doubled quote is part of the text. */
  private static int skipQuoted(String sql, int start, char quote) {
    int i = start + 1;
    while (i < sql.length()) {
      if (sql.charAt(i) == quote) {
        if (i + 1 < sql.length() && sql.charAt(i + 1) == quote) {
          i += 2;
          continue;
        }
        return i + 1;
      }
      i++;
    }
    return i;
  }

  /** Past {@code $tag$ ... $tag$}, or just past the {@code $} when it opens no dollar quote. */
  private static int skipDollarQuoted(String sql, int start) {
    int end = start + 1;
    while (end < sql.length()
        && (Character.isLetterOrDigit(sql.charAt(end)) || sql.charAt(end) == '_')) {
      end++;
    }
    if (end >= sql.length() || sql.charAt(end) != '$' || Character.isDigit(sql.charAt(start + 1))) {
      return start + 1;
    }
    String tag = sql.substring(start, end + 1);
    int close = sql.indexOf(tag, end + 1);
    return close < 0 ? sql.length() : close + tag.length();
  }
}
