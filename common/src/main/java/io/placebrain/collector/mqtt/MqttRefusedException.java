package io.placebrain.collector.mqtt;

/**
 * The broker refused a message for good (an MQTT 5 PUBACK with a reason code of 0x80 or above, e.g.
 * 0x87 not authorized, 0x90 topic name invalid, 0x97 quota exceeded): sending it again would be
 * refused again.
 */
public final class MqttRefusedException extends RuntimeException {

  private final int reasonCode;
  private final String reason;

  public MqttRefusedException(int reasonCode, String reason) {
    super(String.format("broker refused the message: reason code 0x%02X (%s)", reasonCode, reason));
    this.reasonCode = reasonCode;
    this.reason = reason;
  }

  /** The reason code's name, e.g. {@code NOT_AUTHORIZED}. */
  public String reason() {
    return reason;
  }

  /** The broker's reason code, 0x80 or above. */
  public int reasonCode() {
    return reasonCode;
  }
}
