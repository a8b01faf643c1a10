package io.placebrain.collector.mqtt;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Versioned serializer of {@link PendingAlerts}. */
public final class PendingAlertsSerializer implements SimpleVersionedSerializer<PendingAlerts> {

  static final int VERSION = 1;

  @Override
  public int getVersion() {
    return VERSION;
  }

  @Override
  public byte[] serialize(PendingAlerts state) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeInt(state.messages().size());
      for (PendingAlerts.Message message : state.messages()) {
        out.writeUTF(message.topic());
        out.writeInt(message.payload().length);
        out.write(message.payload());
      }
    }
    return bytes.toByteArray();
  }

  @Override
  public PendingAlerts deserialize(int version, byte[] serialized) throws IOException {
    if (version != VERSION) {
      throw new IOException(
          "Unknown version " + version + " of MQTT sink state; this build reads " + VERSION);
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
      int count = in.readInt();
      List<PendingAlerts.Message> messages = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        String topic = in.readUTF();
        byte[] payload = new byte[in.readInt()];
        in.readFully(payload);
        messages.add(new PendingAlerts.Message(topic, payload));
      }
      return new PendingAlerts(messages);
    }
  }
}
