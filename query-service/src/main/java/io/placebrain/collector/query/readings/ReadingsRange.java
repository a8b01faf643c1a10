package io.placebrain.collector.query.readings;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** The readings of one device in {@code [from, to)}, for some keys or (empty list) all of them. */
public record ReadingsRange(UUID deviceId, List<String> keys, Instant from, Instant to) {}
