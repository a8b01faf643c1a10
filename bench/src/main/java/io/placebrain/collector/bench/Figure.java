package io.placebrain.collector.bench;

import java.util.Arrays;

/** One benchmark figure: the median of its runs, with min and max. */
record Figure(
    String key, String label, String unit, double median, double min, double max, int runs) {

  static Figure of(String key, String label, String unit, double... values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return new Figure(key, label, unit, median, sorted[0], sorted[n - 1], n);
  }

  /** The {@code p}-th percentile (0–100) of samples, nearest rank. */
  static double percentile(double[] samples, double p) {
    double[] sorted = samples.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(p / 100 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }
}
