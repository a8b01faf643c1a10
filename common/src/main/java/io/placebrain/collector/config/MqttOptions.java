package io.placebrain.collector.config;

import static io.placebrain.collector.config.Option.Kind.DURATION;
import static io.placebrain.collector.config.Option.Kind.TEXT;

import io.placebrain.collector.mqtt.MqttSinkSettings;

/**
 * The MQTT settings the job, the query service and the local stack share: one broker, reached the
 * same way (address, credentials, protocol version, CA) by every client of the platform.
 */
public final class MqttOptions {

  public static final Option SERVER =
      Option.of("mqtt.server", "tcp://localhost:1883", TEXT, "broker; ssl://host:port for TLS");

  /**
   * Each application connects under an id of its own (the job's default here): two clients with one
   * id take the broker session from each other.
   */
  public static final Option CLIENT_ID =
      Option.of("mqtt.client-id", "collector", TEXT, "client id prefix");

  public static final Option USERNAME =
      Option.of("mqtt.username", "", TEXT, "credentials (empty: anonymous)");

  public static final Option PASSWORD =
      new Option("mqtt.password", "", "credentials (empty: none)", TEXT, true);

  public static final Option VERSION = Option.of("mqtt.version", "5", TEXT, "5 or 3.1.1");

  public static final Option CA_FILE =
      Option.of(
          "mqtt.ca-file",
          "",
          TEXT,
          "PEM file of the CA certificate(s) that signed the broker's certificate, for ssl:// with"
              + " a private CA (empty: the JVM's default CAs)");

  /**
   * How long a publisher waits for the broker's acknowledgements; what waits differs per
   * application (the job's checkpoint, the query service's ResolveAlert), and so does the default
   * (the job's here).
   */
  public static final Option ACK_TIMEOUT =
      Option.of("mqtt.ack-timeout", "0s", DURATION, "wait for the broker's acknowledgements");

  private MqttOptions() {}

  /**
   * The broker connection these settings describe, for a publisher keeping at most {@code
   * maxPending} unacknowledged messages; checks the server URI and the version. The CA file is read
   * only by {@link MqttSinkSettings#trustManagerFactory()}, which each application calls once at
   * start so a wrong file fails there, naming it.
   */
  public static MqttSinkSettings connection(Settings settings, int maxPending) {
    return new MqttSinkSettings(
        settings.get(SERVER.key()),
        settings.get(CLIENT_ID.key()),
        settings.optional(USERNAME.key()),
        settings.optional(PASSWORD.key()),
        settings.get(VERSION.key()),
        maxPending,
        settings.duration(ACK_TIMEOUT.key()),
        settings.optional(CA_FILE.key()));
  }
}
