package io.placebrain.collector.telemetry.internal;

import io.placebrain.collector.telemetry.Reading;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/** Flink's type information for {@link Reading}: an opaque type with {@link ReadingSerializer}. */
public final class ReadingTypeInfo extends TypeInformation<Reading> {

  private static final long serialVersionUID = 1L;

  @Override
  public boolean isBasicType() {
    return false;
  }

  @Override
  public boolean isTupleType() {
    return false;
  }

  @Override
  public int getArity() {
    return 1;
  }

  @Override
  public int getTotalFields() {
    return 1;
  }

  @Override
  public Class<Reading> getTypeClass() {
    return Reading.class;
  }

  @Override
  public boolean isKeyType() {
    return false;
  }

  @Override
  public TypeSerializer<Reading> createSerializer(SerializerConfig config) {
    return ReadingSerializer.INSTANCE;
  }

  @Override
  public String toString() {
    return "Reading";
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ReadingTypeInfo;
  }

  @Override
  public int hashCode() {
    return ReadingTypeInfo.class.hashCode();
  }

  @Override
  public boolean canEqual(Object other) {
    return other instanceof ReadingTypeInfo;
  }
}
