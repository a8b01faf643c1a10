package io.placebrain.collector.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.readings.ReadingRowEncoder;
import io.placebrain.collector.telemetry.KafkaRecord;
import io.placebrain.collector.telemetry.ParserSettings;
import io.placebrain.collector.telemetry.Reading;
import io.placebrain.collector.telemetry.TelemetryOutput;
import io.placebrain.collector.telemetry.TelemetryParser;
import io.placebrain.collector.testing.TestServices;
import io.placebrain.collector.testing.postgres.TestDatabase;
import io.placebrain.flink.connector.postgres.copy.BinaryCopyBuffer;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * Measures the readings hot path outside Flink: the telemetry parser against a bare JSON token scan
 * of the same bytes (the floor any JSON parser pays), the parser's cost per byte from 1 KiB to 1
 * MiB records (it must stay flat), and binary against text COPY of the same rows into the same
 * table. Not a test; run with
 *
 * <pre>./mvnw -q -pl job -am install -DskipTests
 * ./mvnw -q -pl job test-compile exec:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=io.placebrain.collector.bench.HotPathBenchmark</pre>
 *
 * (exec:java in one reactor with {@code -am} would run in the parent module first.)
 */
public final class HotPathBenchmark {

  private static final int RECORDS = 200_000;
  private static final int ROWS = 500_000;
  private static final int RUNS = 3;

  public static void main(String[] args) throws Exception {
    List<KafkaRecord> records = telemetry(RECORDS);
    System.out.println(
        "Parsing " + RECORDS + " records (3 values each), median of " + RUNS + " runs");
    row("bare JSON token scan (floor)", median(() -> scan(records)), RECORDS, "records/s");
    row("TelemetryParser", median(() -> parse(records)), RECORDS, "records/s");

    System.out.println();
    System.out.println(
        "Parse cost per byte by record size (values of ~100 bytes; median of " + RUNS + " runs)");
    double perByteAtOneKib = 0;
    for (int size : new int[] {1 << 10, 16 << 10, 256 << 10, (1 << 20) - 4096}) {
      for (boolean bad : new boolean[] {false, true}) {
        List<KafkaRecord> sized = sizedRecords(size, bad, Math.max(4, (32 << 20) / size));
        long bytes = sized.stream().mapToLong(r -> r.value.length).sum();
        double nanosPerByte = median(() -> parseCounting(sized)) / (double) bytes;
        if (size == 1 << 10 && !bad) {
          perByteAtOneKib = nanosPerByte;
        }
        System.out.printf(
            Locale.ROOT,
            "  %8d-byte records, %-12s %8.2f ns/byte  (%.2f x the 1 KiB figure)%n",
            sized.get(0).value.length,
            bad ? "values bad" : "values good",
            nanosPerByte,
            nanosPerByte / perByteAtOneKib);
      }
    }

    TestDatabase db = TestServices.postgres().createDatabase();
    try {
      db.execute(
          "CREATE UNLOGGED TABLE bench (time timestamptz NOT NULL, device_id uuid NOT NULL,"
              + " key text NOT NULL, value double precision NOT NULL)");
      List<Reading> readings = readings(ROWS);
      byte[] binary = binary(readings);
      byte[] text = text(readings);
      System.out.println();
      System.out.println(
          "COPY of " + ROWS + " rows into the same table, median of " + RUNS + " runs");
      row("text COPY (CopyManager)", median(() -> copy(db, "text", text)), ROWS, "rows/s");
      row("binary COPY (CopyManager)", median(() -> copy(db, "binary", binary)), ROWS, "rows/s");
      row(
          "binary encoding only (BinaryCopyBuffer)",
          median(() -> binary(readings)),
          ROWS,
          "rows/s");
    } finally {
      db.drop();
    }
    System.exit(0);
  }

  private interface Run {
    Object run() throws Exception;
  }

  private static long median(Run run) throws Exception {
    run.run(); // warm-up
    long[] nanos = new long[RUNS];
    for (int i = 0; i < RUNS; i++) {
      long begin = System.nanoTime();
      run.run();
      nanos[i] = System.nanoTime() - begin;
    }
    Arrays.sort(nanos);
    return nanos[RUNS / 2];
  }

  private static void row(String what, long nanos, int count, String unit) {
    System.out.printf(
        Locale.ROOT,
        "  %-42s %12.0f %s  (%.1f ms)%n",
        what,
        count / (nanos / 1e9),
        unit,
        nanos / 1e6);
  }

  private static List<KafkaRecord> telemetry(int count) {
    List<KafkaRecord> records = new ArrayList<>(count);
    String place = UUID.randomUUID().toString();
    for (int i = 0; i < count; i++) {
      String json =
          "{\"place_id\": \""
              + place
              + "\", \"device_id\": \""
              + UUID.randomUUID()
              + "\", \"payload\": {\"ts\": \"2026-03-01T11:59:00.123Z\", \"values\":"
              + " {\"temperature\": "
              + (20 + i % 10)
              + ".5, \"humidity\": 41, \"door_open\": false}}}";
      records.add(
          new KafkaRecord(
              "t", 0, i, System.currentTimeMillis(), null, json.getBytes(StandardCharsets.UTF_8)));
    }
    return records;
  }

  private static Object scan(List<KafkaRecord> records) throws Exception {
    JsonFactory json = new JsonFactory();
    long tokens = 0;
    for (KafkaRecord record : records) {
      try (JsonParser parser = json.createParser(record.value)) {
        while (parser.nextToken() != null) {
          tokens++;
        }
      }
    }
    return tokens;
  }

  private static Object parse(List<KafkaRecord> records) {
    long[] counts = parseCounting(records);
    if (counts[1] > 0) {
      throw new IllegalStateException(counts[1] + " rejected");
    }
    return counts[0];
  }

  /** Readings and dead letters of {@code records}. */
  private static long[] parseCounting(List<KafkaRecord> records) {
    TelemetryParser parser = new TelemetryParser(ParserSettings.DEFAULTS);
    long[] counts = new long[2];
    TelemetryOutput out =
        new TelemetryOutput() {
          @Override
          public void reading(Reading reading) {
            counts[0]++;
          }

          @Override
          public void rejected(DeadLetter deadLetter) {
            counts[1]++;
          }
        };
    for (KafkaRecord record : records) {
      parser.parse(record, out);
    }
    return counts;
  }

  /**
   * {@code count} records of about {@code size} bytes, each value about 100 bytes (a long key), so
   * a 1 MiB record stays under the default cap of 10,000 values. Bad values are null.
   */
  private static List<KafkaRecord> sizedRecords(int size, boolean bad, int count) {
    List<KafkaRecord> records = new ArrayList<>(count);
    String place = UUID.randomUUID().toString();
    String padding = "x".repeat(80);
    for (int r = 0; r < count; r++) {
      StringBuilder json =
          new StringBuilder(size + 200)
              .append("{\"place_id\": \"")
              .append(place)
              .append("\", \"device_id\": \"")
              .append(UUID.randomUUID())
              .append("\", \"payload\": {\"ts\": \"2026-03-01T11:59:00.123Z\", \"values\": {");
      for (int i = 0; json.length() < size - 120; i++) {
        json.append(i == 0 ? "" : ", ")
            .append("\"sensor_")
            .append(i)
            .append('_')
            .append(padding)
            .append("\": ")
            .append(bad ? "null" : String.valueOf(20.5 + i));
      }
      json.append("}}}");
      records.add(
          new KafkaRecord(
              "t",
              0,
              r,
              System.currentTimeMillis(),
              null,
              json.toString().getBytes(StandardCharsets.UTF_8)));
    }
    return records;
  }

  private static List<Reading> readings(int count) {
    List<Reading> readings = new ArrayList<>(count);
    UUID place = UUID.randomUUID();
    UUID[] devices = new UUID[100];
    for (int i = 0; i < devices.length; i++) {
      devices[i] = UUID.randomUUID();
    }
    long now = Instant.now().getEpochSecond() * 1_000_000L;
    for (int i = 0; i < count; i++) {
      readings.add(
          new Reading(now + i, devices[i % 100], place, "temperature", 20 + i % 100 / 10.0));
    }
    return readings;
  }

  private static byte[] binary(List<Reading> readings) {
    BinaryCopyBuffer buffer = new BinaryCopyBuffer(1 << 20);
    ReadingRowEncoder encoder = new ReadingRowEncoder();
    for (Reading reading : readings) {
      encoder.encode(reading, buffer);
    }
    return buffer.toCopyStream();
  }

  private static byte[] text(List<Reading> readings) {
    StringBuilder text = new StringBuilder(readings.size() * 80);
    for (Reading reading : readings) {
      text.append(reading.time())
          .append('\t')
          .append(reading.deviceId())
          .append('\t')
          .append(reading.key)
          .append('\t')
          .append(reading.value)
          .append('\n');
    }
    return text.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static Object copy(TestDatabase db, String format, byte[] data) throws Exception {
    try (Connection connection = db.connect()) {
      connection.createStatement().execute("TRUNCATE bench");
      CopyManager copy = connection.unwrap(PGConnection.class).getCopyAPI();
      return copy.copyIn(
          "COPY bench (time, device_id, key, value) FROM STDIN (FORMAT " + format + ")",
          new ByteArrayInputStream(data));
    }
  }
}
