package io.placebrain.collector.telemetry.internal;

import io.placebrain.collector.telemetry.Reading;
import java.lang.reflect.Type;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/** Makes Flink use {@link ReadingTypeInfo} wherever it meets {@link Reading}. */
public final class ReadingTypeInfoFactory extends TypeInfoFactory<Reading> {

  @Override
  public TypeInformation<Reading> createTypeInfo(
      Type type, Map<String, TypeInformation<?>> genericParameters) {
    return new ReadingTypeInfo();
  }
}
