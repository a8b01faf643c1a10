package io.placebrain.collector.config;

import java.time.Duration;
import java.util.Locale;

/** Parses durations written as a number and a unit: {@code 500ms}, {@code 10 s}, {@code 5min}. */
public final class Durations {

  private Durations() {}

  /**
   * Units: {@code ms}, {@code s}/{@code sec}, {@code m}/{@code min}, {@code h}, {@code d}; a bare
   * number means milliseconds (as in Flink's configuration).
   */
  public static Duration parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("no duration given");
    }
    String trimmed = text.trim().toLowerCase(Locale.ROOT);
    int split = 0;
    while (split < trimmed.length() && Character.isDigit(trimmed.charAt(split))) {
      split++;
    }
    if (split == 0) {
      throw new IllegalArgumentException("'" + text + "' does not start with a number");
    }
    long amount;
    try {
      amount = Long.parseLong(trimmed.substring(0, split));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is too large", e);
    }
    String unit = trimmed.substring(split).trim();
    switch (unit) {
      case "":
      case "ms":
        return Duration.ofMillis(amount);
      case "s":
      case "sec":
        return Duration.ofSeconds(amount);
      case "m":
      case "min":
        return Duration.ofMinutes(amount);
      case "h":
        return Duration.ofHours(amount);
      case "d":
        return Duration.ofDays(amount);
      default:
        throw new IllegalArgumentException("'" + text + "' has an unknown unit '" + unit + "'");
    }
  }
}
