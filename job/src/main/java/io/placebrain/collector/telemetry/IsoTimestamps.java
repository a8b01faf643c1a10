package io.placebrain.collector.telemetry;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;

/**
 * A fast path for the timestamp shape devices send almost always, {@code
 * yyyy-MM-ddTHH:mm:ss[.fraction](Z|±HH:MM)} or without an offset (UTC): read digit by digit, no
 * formatter. {@code java.time}'s general ISO parser costs about as much as the rest of a record;
 * everything this method does not recognise is left to it.
 */
final class IsoTimestamps {

  private IsoTimestamps() {}

  /** The instant, or null when the text is not in the fast shape (the caller then falls back). */
  static Instant parse(String text) {
    int length = text.length();
    if (length < 19
        || text.charAt(4) != '-'
        || text.charAt(7) != '-'
        || (text.charAt(10) != 'T' && text.charAt(10) != 't' && text.charAt(10) != ' ')
        || text.charAt(13) != ':'
        || text.charAt(16) != ':') {
      return null;
    }
    int year = digits(text, 0, 4);
    int month = digits(text, 5, 2);
    int day = digits(text, 8, 2);
    int hour = digits(text, 11, 2);
    int minute = digits(text, 14, 2);
    int second = digits(text, 17, 2);
    if ((year | month | day | hour | minute | second) < 0
        || hour > 23
        || minute > 59
        || second > 59) {
      return null;
    }
    int position = 19;
    int nanos = 0;
    if (position < length && text.charAt(position) == '.') {
      position++;
      int scale = 100_000_000;
      int start = position;
      while (position < length && Character.isDigit(text.charAt(position))) {
        if (scale > 0) {
          nanos += (text.charAt(position) - '0') * scale;
          scale /= 10;
        }
        position++;
      }
      if (position == start || position - start > 9) {
        return null;
      }
    }
    int offsetSeconds;
    if (position == length) {
      offsetSeconds = 0;
    } else if (position == length - 1
        && (text.charAt(position) == 'Z' || text.charAt(position) == 'z')) {
      offsetSeconds = 0;
    } else if (position == length - 6
        && (text.charAt(position) == '+' || text.charAt(position) == '-')
        && text.charAt(position + 3) == ':') {
      int offsetHours = digits(text, position + 1, 2);
      int offsetMinutes = digits(text, position + 4, 2);
      if (offsetHours < 0 || offsetMinutes < 0 || offsetHours > 18 || offsetMinutes > 59) {
        return null;
      }
      offsetSeconds =
          (offsetHours * 3600 + offsetMinutes * 60) * (text.charAt(position) == '-' ? -1 : 1);
    } else {
      return null;
    }
    try {
      long days = LocalDate.of(year, month, day).toEpochDay();
      long seconds = days * 86_400L + hour * 3600L + minute * 60L + second - offsetSeconds;
      return Instant.ofEpochSecond(seconds, nanos);
    } catch (DateTimeException e) {
      return null; // e.g. February 30th: let the general parser report it
    }
  }

  private static int digits(String text, int start, int count) {
    int value = 0;
    for (int i = start; i < start + count; i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }
}
