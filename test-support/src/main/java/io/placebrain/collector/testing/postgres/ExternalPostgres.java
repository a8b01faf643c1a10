package io.placebrain.collector.testing.postgres;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PostgreSQL (or TimescaleDB) server the tests did not start, named by the environment variable
 * {@value #DATABASE_URL_ENV}: {@code jdbc:postgresql://host:port/db?user=...&password=...}. Tests
 * create their own databases on it and drop them; they never stop it.
 */
public final class ExternalPostgres extends TestPostgres {

  public static final String DATABASE_URL_ENV = "COLLECTOR_TEST_DATABASE_URL";

  private static final Pattern URL =
      Pattern.compile("jdbc:postgresql://([^/?]+)/([^?]+)(?:\\?(.*))?");

  private final String hostAndPort;
  private final String database;
  private final String user;
  private final String password;
  private final Map<String, String> otherParameters;

  ExternalPostgres(String url) {
    Matcher matcher = URL.matcher(url);
    if (!matcher.matches()) {
      throw new IllegalArgumentException(
          DATABASE_URL_ENV
              + " must look like jdbc:postgresql://host:port/database?user=...&password=..., not "
              + redact(url));
    }
    hostAndPort = matcher.group(1);
    database = matcher.group(2);
    Map<String, String> parameters = parseQuery(matcher.group(3));
    user = parameters.remove("user");
    password = parameters.remove("password");
    otherParameters = parameters;
    if (user == null) {
      throw new IllegalArgumentException(DATABASE_URL_ENV + " must name the user: ...?user=...");
    }
  }

  /** The same URL as a system property, for tools that take it as a flag (the benchmark). */
  public static final String DATABASE_URL_PROPERTY = "collector.test.database.url";

  public static boolean configured() {
    String url = configuredUrl();
    return url != null && !url.isBlank();
  }

  public static ExternalPostgres fromEnvironment() {
    return new ExternalPostgres(configuredUrl().trim());
  }

  private static String configuredUrl() {
    String url = System.getProperty(DATABASE_URL_PROPERTY);
    return url != null && !url.isBlank() ? url : System.getenv(DATABASE_URL_ENV);
  }

  private static Map<String, String> parseQuery(String query) {
    Map<String, String> parameters = new LinkedHashMap<>();
    if (query == null || query.isEmpty()) {
      return parameters;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      parameters.put(
          URLDecoder.decode(key, StandardCharsets.UTF_8),
          URLDecoder.decode(value, StandardCharsets.UTF_8));
    }
    return parameters;
  }

  private static String redact(String url) {
    return url.replaceAll("password=[^&]*", "password=***");
  }

  @Override
  public String jdbcUrl(String database) {
    StringBuilder url = new StringBuilder("jdbc:postgresql://").append(hostAndPort).append('/');
    url.append(database);
    char separator = '?';
    for (Map.Entry<String, String> parameter : otherParameters.entrySet()) {
      url.append(separator).append(parameter.getKey()).append('=').append(parameter.getValue());
      separator = '&';
    }
    return url.toString();
  }

  @Override
  protected String adminDatabase() {
    return database;
  }

  @Override
  public String user() {
    return user;
  }

  @Override
  public String password() {
    return password;
  }

  @Override
  public boolean canRestart() {
    return false;
  }

  @Override
  public void close() {}

  @Override
  public String toString() {
    return "external PostgreSQL at " + hostAndPort + " (from " + DATABASE_URL_ENV + ")";
  }
}
