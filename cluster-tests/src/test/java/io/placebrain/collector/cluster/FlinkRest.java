package io.placebrain.collector.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** Flink's REST API (what the web UI and monitoring read), plus polling until something holds. */
final class FlinkRest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  FlinkRest(int port) {
    this.base = URI.create("http://127.0.0.1:" + port);
  }

  URI baseUri() {
    return base;
  }

  /** GET; null while nothing listens on the port. */
  JsonNode get(String path) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(base.resolve(path)).GET());
  }

  JsonNode post(String path, String body) throws IOException, InterruptedException {
    return send(
        HttpRequest.newBuilder(base.resolve(path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  JsonNode patch(String path) throws IOException, InterruptedException {
    return send(
        HttpRequest.newBuilder(base.resolve(path))
            .method("PATCH", HttpRequest.BodyPublishers.noBody()));
  }

  private JsonNode send(HttpRequest.Builder request) throws IOException, InterruptedException {
    HttpResponse<String> response;
    try {
      response =
          http.send(
              request.timeout(Duration.ofSeconds(30)).build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      return null;
    }
    if (response.statusCode() >= 300) {
      throw new IOException(
          request.build().uri() + " answered " + response.statusCode() + ": " + response.body());
    }
    return response.body().isEmpty() ? JSON.nullNode() : JSON.readTree(response.body());
  }

  /**
   * Uploads a jar (as the web UI's "Submit New Job" does); returns its id for {@code
   * /jars/:id/run}.
   */
  String uploadJar(java.nio.file.Path jar) throws IOException, InterruptedException {
    String boundary = "----collector" + System.nanoTime();
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    body.write(
        ("--"
                + boundary
                + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                + jar.getFileName()
                + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    body.write(java.nio.file.Files.readAllBytes(jar));
    body.write(("\r\n--" + boundary + "--\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    JsonNode answer =
        send(
            HttpRequest.newBuilder(base.resolve("/jars/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
    String file = answer.path("filename").asText();
    return file.substring(file.lastIndexOf('/') + 1);
  }

  /** Plain text from another HTTP endpoint, such as a Prometheus reporter. */
  String text(URI uri) throws IOException, InterruptedException {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? response.body() : "";
    } catch (ConnectException e) {
      return "";
    }
  }

  /** The status of a job, e.g. RUNNING. */
  String jobStatus(String jobId) throws IOException, InterruptedException {
    return get("/jobs/" + jobId).path("state").asText();
  }

  /** Ids of the jobs in any of the given states. */
  List<String> jobs(String... states) throws IOException, InterruptedException {
    List<String> ids = new ArrayList<>();
    for (JsonNode job : get("/jobs/overview").path("jobs")) {
      for (String state : states) {
        if (job.path("state").asText().equals(state)) {
          ids.add(job.path("jid").asText());
        }
      }
    }
    return ids;
  }

  /**
   * The highest attempt number of any of the job's tasks: it grows with every failover. (Flink's
   * {@code numRestarts} would say the same, but REST serves metrics from a cache refreshed only
   * every 10 s.)
   */
  long highestAttempt(String jobId) throws IOException, InterruptedException {
    long highest = 0;
    for (JsonNode vertex : get("/jobs/" + jobId).path("vertices")) {
      for (JsonNode subtask :
          get("/jobs/" + jobId + "/vertices/" + vertex.path("id").asText()).path("subtasks")) {
        highest = Math.max(highest, subtask.path("attempt").asLong());
      }
    }
    return highest;
  }

  /**
   * The sum over the subtasks of the vertex of an operator metric whose name contains {@code
   * operator} and ends with {@code .metric}; null when no vertex reports it (yet).
   */
  Double operatorMetricSum(String jobId, String operator, String metric)
      throws IOException, InterruptedException {
    for (JsonNode vertex : get("/jobs/" + jobId).path("vertices")) {
      String path =
          "/jobs/" + jobId + "/vertices/" + vertex.path("id").asText() + "/subtasks/metrics";
      for (JsonNode available : get(path)) {
        String id = available.path("id").asText();
        if (id.contains(operator) && id.endsWith("." + metric)) {
          for (JsonNode value :
              get(path + "?agg=sum&get=" + URLEncoder.encode(id, StandardCharsets.UTF_8))) {
            return value.path("sum").asDouble();
          }
        }
      }
    }
    return null;
  }

  /** Completed checkpoints of a job so far. */
  long completedCheckpoints(String jobId) throws IOException, InterruptedException {
    return get("/jobs/" + jobId + "/checkpoints").path("counts").path("completed").asLong();
  }

  /** Waits until every task of the job is RUNNING (the job's own state turns RUNNING earlier). */
  void awaitAllTasksRunning(String jobId, Duration timeout) throws Exception {
    await(
        timeout,
        () -> {
          JsonNode job = get("/jobs/" + jobId);
          if (!job.path("state").asText().equals("RUNNING")) {
            return false;
          }
          for (JsonNode vertex : job.path("vertices")) {
            if (!vertex.path("status").asText().equals("RUNNING")) {
              return false;
            }
          }
          return true;
        },
        "every task of " + jobId + " RUNNING");
  }

  /**
   * Waits until {@code more} checkpoints completed after the ones counted now: evidence that
   * everything before this call went through a checkpoint (and was committed).
   */
  void awaitMoreCheckpoints(String jobId, int more, Duration timeout) throws Exception {
    long target = completedCheckpoints(jobId) + more;
    await(
        timeout,
        () -> completedCheckpoints(jobId) >= target,
        more + " more completed checkpoints of " + jobId);
  }

  /** Polls until the condition holds; fails with {@code what} after the timeout. */
  void await(Duration timeout, Callable<Boolean> condition, String what) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Boolean result;
      try {
        result = condition.call();
      } catch (IOException | java.sql.SQLException e) {
        // Not answering yet (a service restarting) is not an answer.
        result = false;
      }
      if (Boolean.TRUE.equals(result)) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("Timed out after " + timeout + " waiting for: " + what);
      }
      Thread.sleep(200);
    }
  }
}
