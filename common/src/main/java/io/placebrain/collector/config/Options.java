package io.placebrain.collector.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The settings one application knows, in the order its README table lists them: the shared
 * definitions of {@link DatabaseOptions}, {@link MqttOptions}, {@link KafkaOptions} and {@link
 * StorageOptions}, and the application's own.
 */
public final class Options {

  private final List<Option> options;

  private Options(List<Option> options) {
    this.options = List.copyOf(options);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Defaults, overridden by environment variables, overridden by flags; every value checked. */
  public Settings read(String[] args, Map<String, String> environment) {
    Settings settings = Settings.read(defaults(), secrets(), args, environment);
    check(settings);
    return settings;
  }

  /** Fails naming the first option whose value does not parse as its kind. */
  public void check(Settings settings) {
    for (Option option : options) {
      option.kind().check(settings, option.key());
    }
  }

  /** Every key with its default, in order. */
  public Map<String, String> defaults() {
    Map<String, String> defaults = new LinkedHashMap<>();
    for (Option option : options) {
      defaults.put(option.key(), option.defaultValue());
    }
    return Collections.unmodifiableMap(defaults);
  }

  /** Keys whose values {@link Settings#toString()} hides. */
  public Set<String> secrets() {
    Set<String> secrets = new LinkedHashSet<>();
    for (Option option : options) {
      if (option.secret()) {
        secrets.add(option.key());
      }
    }
    return Collections.unmodifiableSet(secrets);
  }

  public List<Option> all() {
    return options;
  }

  /** Collects options in order; a key given twice is a mistake in the application's list. */
  public static final class Builder {

    private final List<Option> options = new ArrayList<>();
    private final Set<String> keys = new LinkedHashSet<>();

    private Builder() {}

    public Builder add(Option... added) {
      for (Option option : added) {
        if (!keys.add(option.key())) {
          throw new IllegalArgumentException("option " + option.key() + " is listed twice");
        }
        options.add(option);
      }
      return this;
    }

    /**
     * An application's own setting, which the application's configuration class parses and checks
     * itself (and the README describes).
     */
    public Builder own(String key, String defaultValue) {
      return add(new Option(key, defaultValue, "", Option.Kind.TEXT, false));
    }

    /** An application's own secret, hidden when the settings are printed. */
    public Builder ownSecret(String key, String defaultValue) {
      return add(new Option(key, defaultValue, "", Option.Kind.TEXT, true));
    }

    public Options build() {
      return new Options(options);
    }
  }
}
