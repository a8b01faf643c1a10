package io.placebrain.collector.control;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.deadletter.RejectReason;
import io.placebrain.collector.telemetry.CanonicalUuids;
import io.placebrain.collector.telemetry.KafkaRecord;
import io.placebrain.collector.telemetry.ReadingKeys;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Parses control events; the topic a record came from says which event it is. A record that is not
 * a valid event of its topic is rejected with the reason, like bad telemetry.
 */
public final class ControlEventParser {

  private static final JsonFactory JSON = new JsonFactory();

  private final Map<String, ControlEventType> typeByTopic;

  public ControlEventParser(ControlTopics topics) {
    this.typeByTopic = topics.typeByTopic();
  }

  /** Parses one record: exactly one of the consumers is called, once. */
  public void parse(
      KafkaRecord record, Consumer<ControlEvent> events, Consumer<DeadLetter> rejected) {
    try {
      events.accept(parseChecked(record));
    } catch (Rejection e) {
      rejected.accept(DeadLetter.of(record, e.reason, e.getMessage(), null));
    }
  }

  private ControlEvent parseChecked(KafkaRecord record) throws Rejection {
    ControlEventType type = typeByTopic.get(record.topic);
    if (type == null) {
      throw new Rejection(
          RejectReason.WRONG_TYPE, "no control event is read from topic " + record.topic);
    }
    if (record.value == null || record.value.length == 0) {
      // A compacted topic's tombstone: nothing to apply.
      throw new Rejection(RejectReason.EMPTY_RECORD, "record has no value");
    }
    Map<String, Object> fields = new HashMap<>();
    try (JsonParser parser = JSON.createParser(record.value)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new Rejection(RejectReason.NOT_AN_OBJECT, "the record is not a JSON object");
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken token = parser.nextToken();
        switch (token) {
          case VALUE_STRING:
            fields.put(name, parser.getText());
            break;
          case VALUE_NUMBER_INT:
          case VALUE_NUMBER_FLOAT:
            fields.put(name, parser.getDoubleValue());
            break;
          case START_ARRAY:
            List<Object> items = new ArrayList<>();
            while (parser.nextToken() != JsonToken.END_ARRAY) {
              items.add(parser.currentToken() == JsonToken.VALUE_STRING ? parser.getText() : null);
              parser.skipChildren();
            }
            fields.put(name, items);
            break;
          default:
            parser.skipChildren();
            fields.put(name, token == JsonToken.VALUE_NULL ? null : token);
        }
      }
      if (parser.nextToken() != null) {
        throw new Rejection(RejectReason.NOT_JSON, "unexpected content after the JSON object");
      }
    } catch (IOException e) {
      throw new Rejection(
          RejectReason.NOT_JSON,
          "not valid JSON: " + String.valueOf(e.getMessage()).split("\n")[0]);
    }

    ControlEvent event = new ControlEvent();
    event.type = type;
    event.timestamp = record.timestamp;
    switch (type) {
      case THRESHOLD_CREATED:
        thresholdIdentity(fields, event);
        event.thresholdType = oneOf(fields, "threshold_type", "min", "max");
        event.value = finiteNumber(fields, "value");
        event.severity = oneOf(fields, "severity", "warning", "critical");
        break;
      case THRESHOLD_DELETED:
        thresholdIdentity(fields, event);
        break;
      case DEVICE_DELETED:
        event.deviceId = uuid(fields, "device_id");
        event.placeId = fields.containsKey("place_id") ? uuid(fields, "place_id") : null;
        break;
      case DEVICES_BULK_DELETED:
        event.deviceIds = uuids(fields, "device_ids");
        break;
      case ALERT_RESOLVED:
        event.alertId = uuid(fields, "alert_id");
        event.thresholdId = uuid(fields, "threshold_id");
        event.deviceId = uuid(fields, "device_id");
        break;
      default:
        throw new IllegalStateException("Unhandled " + type);
    }
    return event;
  }

  private static void thresholdIdentity(Map<String, Object> fields, ControlEvent event)
      throws Rejection {
    event.sensorId = uuid(fields, "sensor_id");
    event.deviceId = uuid(fields, "device_id");
    event.thresholdId = uuid(fields, "threshold_id");
    Object key = required(fields, "key");
    if (!(key instanceof String)) {
      throw new Rejection(RejectReason.WRONG_TYPE, "key must be a string");
    }
    // A threshold's key ends up in alert rows: it must be storable, like a reading's key.
    String keyProblem = ReadingKeys.problem((String) key);
    if (keyProblem != null) {
      throw new Rejection(RejectReason.INVALID_KEY, keyProblem);
    }
    event.key = (String) key;
  }

  private static Object required(Map<String, Object> fields, String name) throws Rejection {
    Object value = fields.get(name);
    if (value == null) {
      throw new Rejection(RejectReason.MISSING_FIELD, name + " is missing");
    }
    return value;
  }

  private static String uuid(Map<String, Object> fields, String name) throws Rejection {
    Object value = required(fields, name);
    if (!(value instanceof String)) {
      throw new Rejection(RejectReason.WRONG_TYPE, name + " must be a UUID string");
    }
    return canonicalUuid((String) value, name);
  }

  private static String canonicalUuid(String text, String name) throws Rejection {
    try {
      if (!CanonicalUuids.isCanonical(text)) {
        throw new IllegalArgumentException();
      }
      return UUID.fromString(text).toString();
    } catch (IllegalArgumentException e) {
      throw new Rejection(
          RejectReason.INVALID_UUID,
          name + " \"" + ReadingKeys.printable(text) + "\" is not a UUID");
    }
  }

  private static String[] uuids(Map<String, Object> fields, String name) throws Rejection {
    Object value = required(fields, name);
    if (!(value instanceof List)) {
      throw new Rejection(RejectReason.WRONG_TYPE, name + " must be an array of UUID strings");
    }
    List<?> items = (List<?>) value;
    String[] ids = new String[items.size()];
    for (int i = 0; i < ids.length; i++) {
      if (!(items.get(i) instanceof String)) {
        throw new Rejection(RejectReason.WRONG_TYPE, name + " must be an array of UUID strings");
      }
      ids[i] = canonicalUuid((String) items.get(i), name + "[" + i + "]");
    }
    return ids;
  }

  private static String oneOf(Map<String, Object> fields, String name, String... allowed)
      throws Rejection {
    Object value = required(fields, name);
    for (String candidate : allowed) {
      if (candidate.equals(value)) {
        return candidate;
      }
    }
    throw new Rejection(
        RejectReason.WRONG_TYPE,
        name + " must be one of " + String.join(", ", allowed) + ", not " + value);
  }

  private static double finiteNumber(Map<String, Object> fields, String name) throws Rejection {
    Object value = required(fields, name);
    if (!(value instanceof Double) || !Double.isFinite((Double) value)) {
      throw new Rejection(
          RejectReason.INVALID_VALUE, name + " must be a finite number, not " + value);
    }
    return (Double) value;
  }

  /** A control record that cannot be applied. */
  private static final class Rejection extends Exception {
    final RejectReason reason;

    Rejection(RejectReason reason, String message) {
      super(message, null, false, false);
      this.reason = reason;
    }
  }
}
