package io.placebrain.flink.connector.postgres.copy.internal;

import org.apache.flink.annotation.Internal;

/**
 * Counts the JDBC {@code ?} placeholders of a statement as the PostgreSQL driver sees them: not
 * inside string literals, quoted identifiers, dollar quotes or comments, and not {@code ??} (the
 * driver's escape for a literal question mark). Also finds server-side parameters ({@code $1}),
 * which the driver would send unbound.
 */
@Internal
public final class Placeholders {

  private final int count;
  private final int firstPositional;

  private Placeholders(int count, int firstPositional) {
    this.count = count;
    this.firstPositional = firstPositional;
  }

  public static int count(String sql) {
    return of(sql).count;
  }

  /** The index of the first {@code $n} outside literals and comments, or -1. */
  public static int firstPositional(String sql) {
    return of(sql).firstPositional;
  }

  private static Placeholders of(String sql) {
    int count = 0;
    int firstPositional = -1;
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
        i = skipComment(sql, i);
      } else if (c == '$' && i > 0 && isIdentifierPart(sql.charAt(i - 1))) {
        // Part of an identifier such as col$x: PostgreSQL allows '$' after an identifier's start.
        i++;
      } else if (c == '$' && i + 1 < length && Character.isDigit(sql.charAt(i + 1))) {
        if (firstPositional < 0) {
          firstPositional = i;
        }
        i++;
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
    return new Placeholders(count, firstPositional);
  }

  private static boolean isIdentifierPart(char c) {
    return Character.isLetterOrDigit(c) || c == '_' || c == '$';
  }

  /**
   * Past the closing quote; a doubled quote is part of the text, and so is a quote after a
   * backslash in an escape string ({@code E'...'}).
   */
  private static int skipQuoted(String sql, int start, char quote) {
    boolean escapes =
        quote == '\''
            && start > 0
            && (sql.charAt(start - 1) == 'E' || sql.charAt(start - 1) == 'e')
            && (start < 2 || !isIdentifierPart(sql.charAt(start - 2)));
    int i = start + 1;
    while (i < sql.length()) {
      char c = sql.charAt(i);
      if (escapes && c == '\\') {
        i += 2;
        continue;
      }
      if (c == quote) {
        if (i + 1 < sql.length() && sql.charAt(i + 1) == quote) {
          i += 2;
          continue;
        }
        return i + 1;
      }
      i++;
    }
    return sql.length();
  }

  /** Past the end of a block comment, which may hold nested ones as in PostgreSQL. */
  private static int skipComment(String sql, int start) {
    int depth = 0;
    int i = start;
    while (i + 1 < sql.length()) {
      if (sql.charAt(i) == '/' && sql.charAt(i + 1) == '*') {
        depth++;
        i += 2;
      } else if (sql.charAt(i) == '*' && sql.charAt(i + 1) == '/') {
        depth--;
        i += 2;
        if (depth == 0) {
          return i;
        }
      } else {
        i++;
      }
    }
    return sql.length();
  }

  /** Past {@code $tag$ ... $tag$}, or just past the {@code $} when it opens no dollar quote. */
  private static int skipDollarQuoted(String sql, int start) {
    int end = start + 1;
    while (end < sql.length()
        && (Character.isLetterOrDigit(sql.charAt(end)) || sql.charAt(end) == '_')) {
      end++;
    }
    if (end >= sql.length() || sql.charAt(end) != '$') {
      return start + 1;
    }
    String tag = sql.substring(start, end + 1);
    int close = sql.indexOf(tag, end + 1);
    return close < 0 ? sql.length() : close + tag.length();
  }
}
