package io.placebrain.collector.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.apache.flink.annotation.Internal;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering the modules promise: the COPY connector knows nothing of the application; the
 * application uses the connector only through its public API; the shared modules ({@code common},
 * {@code storage}, the connector) never reach into the job or the query service. Classes are read
 * from each module's compiled output, since modules share package names.
 */
class LayeringTest {

  private static JavaClasses connector;
  private static JavaClasses shared;
  private static JavaClasses job;
  private static JavaClasses jobTests;
  private static Set<String> jobClassNames;

  @BeforeAll
  static void importModules() {
    ClassFileImporter importer =
        new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS);
    connector = importer.importPath(output("flink-connector-postgres-copy"));
    shared =
        importer.importPaths(
            output("common"), output("storage"), output("flink-connector-postgres-copy"));
    job = importer.importPath(Path.of("target", "classes"));
    // The job's tests use the connector as an application would: a sink wrapped through Flink's
    // interfaces, a running writer through Flink's operator, names from the progress table.
    jobTests = new ClassFileImporter().importPath(Path.of("target", "test-classes"));
    jobClassNames = new HashSet<>();
    job.forEach(c -> jobClassNames.add(c.getName()));
  }

  /** A sibling module's compiled classes; the reactor builds them before the job's tests run. */
  private static Path output(String module) {
    Path classes = Path.of("..", module, "target", "classes");
    if (!Files.isDirectory(classes)) {
      throw new IllegalStateException("Build " + module + " first: " + classes + " is missing");
    }
    return classes;
  }

  @Test
  void theConnectorKnowsNothingOfTheApplication() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.placebrain.collector..")
        .because("the COPY connector is reusable on its own")
        .check(connector);
  }

  @Test
  void theApplicationUsesOnlyTheConnectorsPublicApi() {
    noClasses().should().dependOnClassesThat(CONNECTOR_INTERNALS).check(job);
  }

  @Test
  void theApplicationsTestsUseOnlyTheConnectorsPublicApi() {
    noClasses().should().dependOnClassesThat(CONNECTOR_INTERNALS).check(jobTests);
  }

  @Test
  void theApplicationCallsNoInternalMemberOfTheConnector() {
    noClasses().should().accessTargetWhere(INTERNAL_CONNECTOR_MEMBER).check(job);
  }

  @Test
  void theApplicationsTestsCallNoInternalMemberOfTheConnector() {
    noClasses().should().accessTargetWhere(INTERNAL_CONNECTOR_MEMBER).check(jobTests);
  }

  private static final Set<String> INTERNAL_PACKAGES =
      Set.of(
          "io.placebrain.flink.connector.postgres.copy.writer",
          "io.placebrain.flink.connector.postgres.copy.committer",
          "io.placebrain.flink.connector.postgres.copy.internal");

  /**
   * Classes marked {@code @Internal}, classes nested in one, and every class (nested ones included)
   * of the connector's writer, committer and internal packages, marked or not.
   */
  private static final DescribedPredicate<JavaClass> CONNECTOR_INTERNALS =
      new DescribedPredicate<>("are internal to the connector") {
        @Override
        public boolean test(JavaClass target) {
          if (!target.getPackageName().startsWith("io.placebrain.flink.connector")) {
            return false;
          }
          if (INTERNAL_PACKAGES.stream()
              .anyMatch(
                  p ->
                      target.getPackageName().equals(p)
                          || target.getPackageName().startsWith(p + "."))) {
            return true;
          }
          for (JavaClass c = target; c != null; c = c.getEnclosingClass().orElse(null)) {
            if (c.isAnnotatedWith(Internal.class)) {
              return true;
            }
          }
          return false;
        }
      };

  /** Methods, constructors and fields of the connector marked {@code @Internal}. */
  private static final DescribedPredicate<JavaAccess<?>> INTERNAL_CONNECTOR_MEMBER =
      new DescribedPredicate<>("is a member of the connector marked @Internal") {
        @Override
        public boolean test(JavaAccess<?> access) {
          return access
                  .getTargetOwner()
                  .getPackageName()
                  .startsWith("io.placebrain.flink.connector")
              && access
                  .getTarget()
                  .resolveMember()
                  .map(member -> member.isAnnotatedWith(Internal.class))
                  .orElse(false);
        }
      };

  @Test
  void sharedModulesNeverReachIntoTheJobOrTheQueryService() {
    noClasses()
        .should()
        .dependOnClassesThat(
            new DescribedPredicate<JavaClass>("belong to the job or the query service") {
              @Override
              public boolean test(JavaClass target) {
                return jobClassNames.contains(target.getName())
                    || target.getPackageName().startsWith("io.placebrain.collector.query");
              }
            })
        .check(shared);
  }
}
