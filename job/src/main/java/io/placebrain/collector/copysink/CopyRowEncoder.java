package io.placebrain.collector.copysink;

import java.io.Serializable;

/**
 * Writes one element as one row of PostgreSQL's binary COPY format: exactly {@link #columns()}
 * fields, in the order of {@link #columns()}, each through the typed methods of the buffer.
 */
public interface CopyRowEncoder<T> extends Serializable {

  /** The target columns, in the order {@link #encode} writes their fields. */
  java.util.List<String> columns();

  void encode(T element, BinaryCopyBuffer row);
}
