package io.placebrain.collector.testing;

import io.placebrain.collector.testing.postgres.TestDatabase;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit extension giving a test class an empty database of its own on {@link
 * TestServices#postgres()}, dropped after the class. Register it as a static field:
 *
 * <pre>{@code @RegisterExtension static final FreshDatabase DB = new FreshDatabase();}</pre>
 */
public final class FreshDatabase implements BeforeAllCallback, AfterAllCallback {

  private TestDatabase database;

  @Override
  public void beforeAll(ExtensionContext context) {
    database = TestServices.postgres().createDatabase();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (database != null) {
      // An outage test may leave the server stopped; bring it back so the drop can run.
      if (database.server().canRestart()) {
        database.server().start();
      }
      database.drop();
      database = null;
    }
  }

  /** The database; available from {@code @BeforeAll} on. */
  public TestDatabase get() {
    if (database == null) {
      throw new IllegalStateException(
          "FreshDatabase is used before the class started: register it as a static field");
    }
    return database;
  }
}
