package io.placebrain.collector.telemetry;

/**
 * The canonical text form of a UUID, checked strictly: 36 characters, ASCII hex digits in groups of
 * 8-4-4-4-12. {@link java.util.UUID#fromString} alone accepts shortened groups and any Unicode
 * digit, so two different strings could name the same device.
 */
public final class CanonicalUuids {

  private CanonicalUuids() {}

  public static boolean isCanonical(String text) {
    if (text.length() != 36) {
      return false;
    }
    for (int i = 0; i < 36; i++) {
      char c = text.charAt(i);
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (c != '-') {
          return false;
        }
      } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        return false;
      }
    }
    return true;
  }
}
