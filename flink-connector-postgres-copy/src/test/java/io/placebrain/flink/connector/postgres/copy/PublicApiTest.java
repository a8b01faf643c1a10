package io.placebrain.flink.connector.postgres.copy;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.annotation.Internal;
import org.junit.jupiter.api.Test;

/** The connector's public classes expose internal types only through methods marked internal. */
class PublicApiTest {

  private static final List<Class<?>> PUBLIC_API =
      List.of(
          PostgresCopySink.class,
          PostgresCopySinkBuilder.class,
          CopyRowEncoder.class,
          BinaryCopyBuffer.class,
          AfterCommitStatement.class,
          AfterCommitAction.class,
          StatementParameter.class,
          CopySinkTables.class,
          ConnectionFactory.class,
          ConnectionAction.class,
          DriverManagerConnections.class);

  @Test
  void publicMethodsNamingInternalTypesAreMarkedInternal() {
    List<String> exposed = new ArrayList<>();
    for (Class<?> type : PUBLIC_API) {
      for (Method method : type.getDeclaredMethods()) {
        if (Modifier.isPublic(method.getModifiers())
            && !method.isSynthetic()
            && !method.isAnnotationPresent(Internal.class)
            && namesInternalType(method)) {
          exposed.add(method.toGenericString());
        }
      }
    }
    assertThat(exposed).isEmpty();
  }

  private static boolean namesInternalType(Method method) {
    return Stream.concat(
            Stream.of(method.getGenericReturnType()), Stream.of(method.getGenericParameterTypes()))
        .anyMatch(PublicApiTest::isInternal);
  }

  private static boolean isInternal(Type type) {
    String name = type.getTypeName();
    return name.contains(".copy.writer.")
        || name.contains(".copy.committer.")
        || name.contains(".copy.internal.");
  }
}
