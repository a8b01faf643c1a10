package io.placebrain.collector.telemetry;

/**
 * The rule every reading key (and threshold key) must follow before it may reach the database: a
 * non-empty string of valid Unicode without NUL, of at most {@link #MAX_LENGTH} characters counted
 * as PostgreSQL counts them (code points, so a key of 100 emoji is 100 characters, not 200).
 *
 * <p>PostgreSQL refuses a text containing NUL (SQLSTATE 22021) and Java's UTF-8 encoder turns a
 * lone surrogate into {@code ?}, which would silently merge two different keys; both are caught
 * here, where the record can still be dead-lettered with its reason.
 */
public final class ReadingKeys {

  public static final int MAX_LENGTH = 100;

  private ReadingKeys() {}

  /** Why {@code key} cannot be stored, or null when it can. Linear in the key's length. */
  public static String problem(String key) {
    if (key.isEmpty()) {
      return "a reading key is empty";
    }
    int characters = 0;
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c == 0) {
        return "reading key '" + printable(key) + "' contains NUL (U+0000)";
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < key.length()
          && Character.isLowSurrogate(key.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return "reading key '"
            + printable(key)
            + "' contains a lone UTF-16 surrogate U+"
            + Integer.toHexString(c).toUpperCase()
            + " (not valid Unicode)";
      }
      characters++;
    }
    if (characters > MAX_LENGTH) {
      return "reading key '"
          + printable(key)
          + "' has "
          + characters
          + " characters, more than "
          + MAX_LENGTH;
    }
    return null;
  }

  /**
   * {@code text} made printable and cut to about 64 characters; see {@link #printable(String,
   * int)}.
   */
  public static String printable(String text) {
    return printable(text, 64);
  }

  /**
   * {@code text} made safe for a log line, a Kafka header or a database text column, and at most
   * about {@code maxLength} characters long: NUL, other control characters and lone surrogates
   * become {@code \\uXXXX} escapes, and a cut (marked by "...") never splits a surrogate pair.
   */
  public static String printable(String text, int maxLength) {
    StringBuilder out = new StringBuilder(Math.min(text.length(), maxLength + 8));
    for (int i = 0; i < text.length(); i++) {
      if (out.length() >= maxLength - 3 && text.length() - i > 3) {
        return out.append("...").toString();
      }
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        out.append(c).append(text.charAt(++i));
      } else if (Character.isSurrogate(c) || Character.isISOControl(c)) {
        out.append(String.format("\\u%04X", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
