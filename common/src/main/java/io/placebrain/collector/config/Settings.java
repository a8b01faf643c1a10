package io.placebrain.collector.config;

import java.io.Serializable;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Settings read from {@code --key value} (or {@code --key=value}) flags and {@code COLLECTOR_*}
 * environment variables, flags winning, over a fixed set of keys with defaults. An unknown flag or
 * a malformed value fails at start-up with the setting's name, never later.
 */
public final class Settings implements Serializable {

  private static final long serialVersionUID = 1L;

  private final Map<String, String> defaults;
  private final Map<String, String> values;
  private final Set<String> secrets;

  private Settings(Map<String, String> defaults, Map<String, String> values, Set<String> secrets) {
    this.defaults = defaults;
    this.values = values;
    this.secrets = secrets;
  }

  /** Defaults, overridden by environment variables, overridden by flags. */
  public static Settings read(
      Map<String, String> defaults,
      Set<String> secrets,
      String[] args,
      Map<String, String> environment) {
    Map<String, String> values = new LinkedHashMap<>(defaults);
    for (String key : defaults.keySet()) {
      String fromEnvironment = environment.get(environmentName(key));
      if (fromEnvironment != null) {
        values.put(key, fromEnvironment);
      }
    }
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--")) {
        throw new IllegalArgumentException("Expected --key value, got '" + arg + "'");
      }
      String key = arg.substring(2);
      String value;
      int eq = key.indexOf('=');
      if (eq >= 0) {
        value = key.substring(eq + 1);
        key = key.substring(0, eq);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException("--" + key + " needs a value");
      }
      requireKnown(defaults, key, "--");
      values.put(key, value);
    }
    return new Settings(
        Collections.unmodifiableMap(new LinkedHashMap<>(defaults)),
        Collections.unmodifiableMap(values),
        Set.copyOf(secrets));
  }

  /** {@code kafka.bootstrap-servers} is read from {@code COLLECTOR_KAFKA_BOOTSTRAP_SERVERS}. */
  public static String environmentName(String key) {
    return "COLLECTOR_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static void requireKnown(Map<String, String> defaults, String key, String prefix) {
    if (!defaults.containsKey(key)) {
      throw new IllegalArgumentException(
          "Unknown setting "
              + prefix
              + key
              + "; known settings: "
              + String.join(", ", defaults.keySet()));
    }
  }

  /** A copy with some settings replaced; for tests and the local runner. */
  public Settings with(Map<String, String> overrides) {
    Map<String, String> copy = new LinkedHashMap<>(values);
    overrides.forEach(
        (key, value) -> {
          requireKnown(defaults, key, "");
          copy.put(key, value);
        });
    return new Settings(defaults, Collections.unmodifiableMap(copy), secrets);
  }

  public String get(String key) {
    String value = values.get(key);
    if (value == null) {
      requireKnown(defaults, key, "");
    }
    return value;
  }

  /** The value, or null when it is empty (settings such as a password that may be absent). */
  public String optional(String key) {
    String value = get(key);
    return value == null || value.isEmpty() ? null : value;
  }

  public int integer(String key) {
    try {
      return Integer.parseInt(get(key).trim());
    } catch (NumberFormatException e) {
      throw invalid(key, "an integer");
    }
  }

  public long longValue(String key) {
    try {
      return Long.parseLong(get(key).trim());
    } catch (NumberFormatException e) {
      throw invalid(key, "an integer");
    }
  }

  public double decimal(String key) {
    try {
      return Double.parseDouble(get(key).trim());
    } catch (NumberFormatException e) {
      throw invalid(key, "a number");
    }
  }

  public boolean bool(String key) {
    switch (get(key).trim().toLowerCase(Locale.ROOT)) {
      case "true":
        return true;
      case "false":
        return false;
      default:
        throw invalid(key, "true or false");
    }
  }

  public Duration duration(String key) {
    try {
      return Durations.parse(get(key));
    } catch (IllegalArgumentException e) {
      throw invalid(key, "a duration (e.g. 500ms, 10s, 5min, 2h, 7d)");
    }
  }

  /** An error naming the setting, its value and what was expected. */
  public IllegalArgumentException invalid(String key, String expected) {
    return new IllegalArgumentException(
        key + " = '" + get(key) + "' is not valid: expected " + expected);
  }

  @Override
  public String toString() {
    Map<String, String> shown = new LinkedHashMap<>(values);
    for (String secret : secrets) {
      shown.computeIfPresent(secret, (k, v) -> v.isEmpty() ? v : "***");
    }
    return shown.toString();
  }
}
