package io.placebrain.collector.mqtt;

/**
 * An alert the MQTT broker refused for good, on its way to the dead-letter topic: the message and
 * the broker's reason code. It travels as the MQTT sink's committable, so it is dead-lettered once
 * the checkpoint that dropped it from the sink's state is complete.
 */
public class MqttRefusal {

  public String topic;
  public byte[] payload;

  /** The PUBACK reason code, 0x80 or above. */
  public int reasonCode;

  /** The reason code's name, e.g. {@code NOT_AUTHORIZED}. */
  public String reason;

  public MqttRefusal() {}

  public MqttRefusal(String topic, byte[] payload, int reasonCode, String reason) {
    this.topic = topic;
    this.payload = payload;
    this.reasonCode = reasonCode;
    this.reason = reason;
  }

  /** {@code 0x87}. */
  public String reasonCodeHex() {
    return String.format("0x%02X", reasonCode);
  }

  @Override
  public String toString() {
    return topic + " refused " + reasonCodeHex() + " " + reason;
  }
}
