package io.placebrain.collector.deadletter;

/** Why a record, or one value of it, was not accepted. The code travels in a Kafka header. */
public enum RejectReason {
  EMPTY_RECORD("empty-record"),
  TOO_LARGE("too-large"),
  NOT_JSON("not-json"),
  NOT_AN_OBJECT("not-an-object"),
  MISSING_FIELD("missing-field"),
  WRONG_TYPE("wrong-type"),
  INVALID_UUID("invalid-uuid"),
  INVALID_TIMESTAMP("invalid-timestamp"),
  TIMESTAMP_OUT_OF_RANGE("timestamp-out-of-range"),
  NO_VALUES("no-values"),
  INVALID_KEY("invalid-key"),
  INVALID_VALUE("invalid-value"),
  TOO_MANY_VALUES("too-many-values");

  private final String code;

  RejectReason(String code) {
    this.code = code;
  }

  /** Stable, machine-readable name, as written to the dead-letter header. */
  public String code() {
    return code;
  }
}
