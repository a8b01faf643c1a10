package io.placebrain.collector.config;

import java.io.Serializable;

/**
 * One setting: its key (the flag {@code --key}, the variable {@code COLLECTOR_KEY}), its default,
 * what it means, what kind of value it takes, and whether printing hides it.
 *
 * @param kind checked when the settings are read, so a malformed value fails at start with the
 *     setting's name whichever application reads it
 */
public record Option(String key, String defaultValue, String description, Kind kind, boolean secret)
    implements Serializable {

  /** What a value must parse as; {@link Settings} names the option when it does not. */
  public enum Kind {
    TEXT,
    INTEGER,
    DURATION,
    BOOLEAN;

    void check(Settings settings, String key) {
      switch (this) {
        case INTEGER -> settings.longValue(key);
        case DURATION -> settings.duration(key);
        case BOOLEAN -> settings.bool(key);
        case TEXT -> {}
      }
    }
  }

  public Option {
    if (key == null || key.isBlank() || defaultValue == null || kind == null) {
      throw new IllegalArgumentException("an option needs a key, a default and a kind");
    }
  }

  /** A plain option of the given kind, not secret. */
  public static Option of(String key, String defaultValue, Kind kind, String description) {
    return new Option(key, defaultValue, description, kind, false);
  }

  /** The same option with another default, for an application where it means something else. */
  public Option withDefault(String otherDefault) {
    return new Option(key, otherDefault, description, kind, secret);
  }
}
