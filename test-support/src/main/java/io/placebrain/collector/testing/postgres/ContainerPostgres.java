package io.placebrain.collector.testing.postgres;

import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * TimescaleDB in a Docker container, for machines with a Docker engine. An outage is simulated by
 * pausing the container, which keeps its port mapping and data.
 */
public final class ContainerPostgres extends TestPostgres {

  static final DockerImageName IMAGE =
      DockerImageName.parse("timescale/timescaledb:2.22.1-pg17")
          .asCompatibleSubstituteFor("postgres");

  private final PostgreSQLContainer container;

  private ContainerPostgres(PostgreSQLContainer container) {
    this.container = container;
  }

  public static ContainerPostgres launch() {
    PostgreSQLContainer container =
        new PostgreSQLContainer(IMAGE)
            .withCommand("postgres", "-c", "max_prepared_transactions=64", "-c", "fsync=off");
    container.start();
    return new ContainerPostgres(container);
  }

  @Override
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://"
        + container.getHost()
        + ":"
        + container.getMappedPort(PostgreSQLContainer.POSTGRESQL_PORT)
        + "/"
        + database;
  }

  @Override
  protected String adminDatabase() {
    return container.getDatabaseName();
  }

  @Override
  public String user() {
    return container.getUsername();
  }

  @Override
  public String password() {
    return container.getPassword();
  }

  @Override
  public boolean canRestart() {
    return true;
  }

  @Override
  public void stop() {
    container.getDockerClient().pauseContainerCmd(container.getContainerId()).exec();
  }

  @Override
  public void start() {
    container.getDockerClient().unpauseContainerCmd(container.getContainerId()).exec();
  }

  @Override
  public void close() {
    container.stop();
  }

  @Override
  public String toString() {
    return "TimescaleDB container " + IMAGE + " at " + jdbcUrl(adminDatabase());
  }
}
