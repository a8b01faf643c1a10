package io.placebrain.collector.local.mqtt;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * An MQTT subscriber written byte by byte on a plain socket, to reproduce what common clients send
 * exactly: paho's {@code connect(); subscribe(); loop_start()} writes SUBSCRIBE right behind
 * CONNECT without waiting for CONNACK; {@code mosquitto_sub} connects with an empty client id and a
 * clean start. Acknowledges each QoS 1 message and records its topic and payload.
 */
final class RawMqttSubscriber implements AutoCloseable {

  /** A message received. */
  record Received(String topic, String payload) {}

  private final Socket socket;
  private final boolean version5;
  private final CompletableFuture<Integer> connack = new CompletableFuture<>();
  private final CompletableFuture<Integer> suback = new CompletableFuture<>();
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final Thread reader;

  private RawMqttSubscriber(Socket socket, boolean version5) {
    this.socket = socket;
    this.version5 = version5;
    this.reader = new Thread(this::read, "raw-mqtt-subscriber");
    reader.setDaemon(true);
  }

  /**
   * Connects with {@code clientId} (may be empty) and a clean start, and subscribes to {@code
   * filter} with QoS 1: in the same write as CONNECT if {@code pipelined}, else once CONNACK came.
   */
  static RawMqttSubscriber subscribe(
      String host, int port, boolean version5, String clientId, boolean pipelined, String filter)
      throws Exception {
    Socket socket = new Socket(host, port);
    socket.setTcpNoDelay(true);
    RawMqttSubscriber subscriber = new RawMqttSubscriber(socket, version5);
    subscriber.reader.start();
    OutputStream out = socket.getOutputStream();
    byte[] connect = subscriber.connect(clientId);
    byte[] subscribe = subscriber.subscribe(filter);
    if (pipelined) {
      byte[] both = new byte[connect.length + subscribe.length];
      System.arraycopy(connect, 0, both, 0, connect.length);
      System.arraycopy(subscribe, 0, both, connect.length, subscribe.length);
      out.write(both);
      out.flush();
    } else {
      out.write(connect);
      out.flush();
      subscriber.connack.get(10, TimeUnit.SECONDS);
      out.write(subscribe);
      out.flush();
    }
    return subscriber;
  }

  /** CONNACK's return (3.1.1) or reason (5) code; waits at most {@code seconds}. */
  int connackCode(long seconds) throws Exception {
    return connack.get(seconds, TimeUnit.SECONDS);
  }

  /** SUBACK's first return or reason code (1: QoS 1 granted); waits at most {@code seconds}. */
  int subackCode(long seconds) throws Exception {
    return suback.get(seconds, TimeUnit.SECONDS);
  }

  List<Received> received() {
    return List.copyOf(received);
  }

  private byte[] connect(String clientId) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    writeString(body, "MQTT");
    body.write(version5 ? 5 : 4);
    body.write(0x02); // clean session / clean start, no credentials, no will
    body.write(0);
    body.write(60); // keep alive, seconds
    if (version5) {
      body.write(0); // no properties
    }
    writeString(body, clientId);
    return packet(0x10, body.toByteArray());
  }

  private byte[] subscribe(String filter) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.write(0);
    body.write(1); // packet identifier 1
    if (version5) {
      body.write(0);
    }
    writeString(body, filter);
    body.write(1); // QoS 1
    return packet(0x82, body.toByteArray());
  }

  private void read() {
    try {
      DataInputStream in = new DataInputStream(socket.getInputStream());
      while (true) {
        int header = in.readUnsignedByte();
        byte[] body = new byte[readVarInt(in)];
        in.readFully(body);
        switch (header >> 4) {
          case 2 -> connack.complete(body[1] & 0xFF);
          case 9 -> suback.complete(body[reasonCodesStart(body)] & 0xFF);
          case 3 -> publish(header, body);
          default -> {} // PINGRESP and others
        }
      }
    } catch (EOFException | java.net.SocketException closed) {
      connack.completeExceptionally(closed);
      suback.completeExceptionally(closed);
    } catch (IOException e) {
      connack.completeExceptionally(e);
      suback.completeExceptionally(e);
    }
  }

  private void publish(int header, byte[] body) throws IOException {
    int qos = (header >> 1) & 3;
    int topicLength = ((body[0] & 0xFF) << 8) | (body[1] & 0xFF);
    String topic = new String(body, 2, topicLength, StandardCharsets.UTF_8);
    int at = 2 + topicLength;
    int packetId = 0;
    if (qos > 0) {
      packetId = ((body[at] & 0xFF) << 8) | (body[at + 1] & 0xFF);
      at += 2;
    }
    if (version5) {
      int length = propertiesLength(body, at);
      at += varIntSize(length) + length;
    }
    received.add(
        new Received(topic, new String(body, at, body.length - at, StandardCharsets.UTF_8)));
    if (qos == 1) {
      OutputStream out = socket.getOutputStream();
      synchronized (out) {
        out.write(new byte[] {0x40, 2, (byte) (packetId >> 8), (byte) packetId});
        out.flush();
      }
    }
  }

  /** Where SUBACK's codes start: after the packet identifier and (MQTT 5) the properties. */
  private int reasonCodesStart(byte[] suback) {
    if (!version5) {
      return 2;
    }
    int length = propertiesLength(suback, 2);
    return 2 + varIntSize(length) + length;
  }

  /** The variable byte integer at {@code at}: a property length. */
  private static int propertiesLength(byte[] body, int at) {
    int value = 0;
    for (int shift = 0; ; shift += 7) {
      int b = body[at++] & 0xFF;
      value |= (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
  }

  private static int varIntSize(int value) {
    return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
  }

  private static int readVarInt(DataInputStream in) throws IOException {
    int value = 0;
    for (int shift = 0; ; shift += 7) {
      int b = in.readUnsignedByte();
      value |= (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
  }

  private static byte[] packet(int header, byte[] body) {
    ByteArrayOutputStream packet = new ByteArrayOutputStream();
    packet.write(header);
    int length = body.length;
    do {
      int b = length & 0x7F;
      length >>= 7;
      packet.write(length > 0 ? b | 0x80 : b);
    } while (length > 0);
    packet.writeBytes(body);
    return packet.toByteArray();
  }

  private static void writeString(ByteArrayOutputStream out, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    out.write(bytes.length >> 8);
    out.write(bytes.length);
    out.writeBytes(bytes);
  }

  @Override
  public void close() throws Exception {
    try (OutputStream out = socket.getOutputStream()) {
      out.write(new byte[] {(byte) 0xE0, 0}); // DISCONNECT
    } catch (IOException ignored) {
      // already closed by the broker
    }
    socket.close();
    reader.join(5_000);
  }
}
