package io.placebrain.collector.query.alerts;

import java.time.Instant;
import java.util.UUID;

/**
 * Which alerts of a place to list; null fields do not filter. {@code from}/{@code to} bound {@code
 * created_at}, from inclusive, to exclusive.
 */
public record AlertFilter(
    UUID placeId,
    String status,
    String severity,
    UUID sensorId,
    UUID deviceId,
    Instant from,
    Instant to) {}
