package io.placebrain.collector.mqtt.internal;

import io.placebrain.collector.mqtt.MqttRefusal;
import java.io.IOException;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/** Version 1: topic (UTF), payload length and bytes, reason code, reason (UTF). */
public final class MqttRefusalSerializer implements SimpleVersionedSerializer<MqttRefusal> {

  @Override
  public int getVersion() {
    return 1;
  }

  @Override
  public byte[] serialize(MqttRefusal refusal) throws IOException {
    DataOutputSerializer out = new DataOutputSerializer(64 + refusal.payload.length);
    out.writeUTF(refusal.topic);
    out.writeInt(refusal.payload.length);
    out.write(refusal.payload);
    out.writeInt(refusal.reasonCode);
    out.writeUTF(refusal.reason);
    return out.getCopyOfBuffer();
  }

  @Override
  public MqttRefusal deserialize(int version, byte[] serialized) throws IOException {
    if (version != 1) {
      throw new IOException("Unknown MQTT refusal version " + version);
    }
    DataInputDeserializer in = new DataInputDeserializer(serialized);
    String topic = in.readUTF();
    byte[] payload = new byte[in.readInt()];
    in.readFully(payload);
    int reasonCode = in.readInt();
    return new MqttRefusal(topic, payload, reasonCode, in.readUTF());
  }
}
