package io.placebrain.collector.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Collects figures, prints them as a table and writes them as flat JSON. */
final class Results {

  private final List<Figure> figures = new ArrayList<>();
  private Figure ceiling;

  void add(Figure figure) {
    figures.add(figure);
    if (figure.key().equals("copy_ceiling_rows_per_s")) {
      ceiling = figure;
    }
  }

  /** The figure added under {@code key}. */
  /** The figure of {@code key}, or null where this run did not measure it. */
  Figure find(String key) {
    return figures.stream().filter(f -> f.key().equals(key)).findFirst().orElse(null);
  }

  Figure get(String key) {
    return figures.stream()
        .filter(f -> f.key().equals(key))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("No figure " + key));
  }

  void print(PrintStream out, String header) {
    out.println();
    out.println(header);
    out.printf(
        Locale.ROOT, "%-58s %14s %14s %14s %9s%n", "figure", "median", "min", "max", "÷ ceiling");
    for (Figure figure : figures) {
      String ratio =
          ceiling != null && figure.unit().equals("rows/s") && figure != ceiling
              ? String.format(Locale.ROOT, "%.2f", figure.median() / ceiling.median())
              : "";
      out.printf(
          Locale.ROOT,
          "%-58s %14s %14s %14s %9s%n",
          figure.label() + " (" + figure.unit() + ")",
          number(figure.median()),
          number(figure.min()),
          number(figure.max()),
          ratio);
    }
  }

  private static String number(double value) {
    if (value >= 1000) {
      return String.format(Locale.ROOT, "%,.0f", value);
    }
    if (value == Math.rint(value)) {
      return String.format(Locale.ROOT, "%.0f", value); // counts
    }
    // Ratios such as 0.97 × need their second digit.
    return String.format(Locale.ROOT, Math.abs(value) < 10 ? "%.2f" : "%.1f", value);
  }

  /** {@code {"key": median, ...}} plus {@code key_min}/{@code key_max}; numbers only. */
  void write(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    StringBuilder json = new StringBuilder("{\n");
    for (int i = 0; i < figures.size(); i++) {
      Figure figure = figures.get(i);
      json.append(String.format(Locale.ROOT, "  \"%s\": %.3f,%n", figure.key(), figure.median()));
      json.append(String.format(Locale.ROOT, "  \"%s_min\": %.3f,%n", figure.key(), figure.min()));
      json.append(
          String.format(
              Locale.ROOT,
              "  \"%s_max\": %.3f%s%n",
              figure.key(),
              figure.max(),
              i == figures.size() - 1 ? "" : ","));
    }
    json.append("}\n");
    Files.writeString(file, json);
  }
}
