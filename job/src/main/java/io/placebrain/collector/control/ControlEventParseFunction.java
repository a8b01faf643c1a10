package io.placebrain.collector.control;

import io.placebrain.collector.deadletter.DeadLetter;
import io.placebrain.collector.lifecycle.LibraryRelease;
import io.placebrain.collector.telemetry.KafkaRecord;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/** Control records to control events; rejected ones to {@link #DEAD_LETTERS}. */
public final class ControlEventParseFunction extends ProcessFunction<KafkaRecord, ControlEvent> {

  public static final OutputTag<DeadLetter> DEAD_LETTERS =
      new OutputTag<>("control-dead-letters") {};

  private final ControlTopics topics;
  private transient ControlEventParser parser;
  private transient Counter rejected;

  public ControlEventParseFunction(ControlTopics topics) {
    this.topics = topics;
  }

  @Override
  public void open(OpenContext openContext) {
    LibraryRelease.registerFor(getRuntimeContext());
    parser = new ControlEventParser(topics);
    rejected = getRuntimeContext().getMetricGroup().counter("controlRejected");
  }

  @Override
  public void processElement(KafkaRecord record, Context context, Collector<ControlEvent> out) {
    parser.parse(
        record,
        out::collect,
        letter -> {
          rejected.inc();
          context.output(DEAD_LETTERS, letter);
        });
  }
}
