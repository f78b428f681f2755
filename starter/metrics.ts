import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The starter's Prometheus metrics, in a registry of its own so several starters can share a process (tests). */
export class StarterMetrics {
  readonly registry = new Registry();

  readonly received = new Counter({
    name: 'tnth_starter_messages_received_total',
    help: 'SQS messages received, including redeliveries',
    registers: [this.registry],
  });

  readonly receiveBatchSize = new Histogram({
    name: 'tnth_starter_receive_batch_messages',
    help: 'Messages per ReceiveMessage call that returned any: mostly small batches mean more pollers than traffic',
    buckets: [1, 2, 3, 5, 8, 10],
    registers: [this.registry],
  });

  readonly handedOff = new Counter({
    name: 'tnth_starter_events_handed_off_total',
    help: 'Interruption events Temporal accepted (signal-with-start), by event kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly handOffFailures = new Counter({
    name: 'tnth_starter_hand_off_failures_total',
    help: 'Hand-offs Temporal did not accept; their messages stay in the queue',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly deleted = new Counter({
    name: 'tnth_starter_messages_deleted_total',
    help: 'Messages deleted from the queue: handed-off, or needing no action',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly rejected = new Counter({
    name: 'tnth_starter_messages_rejected_total',
    help: 'Bad messages left for the redrive policy, by message kind (unknown when unrecognised) and reason',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });

  readonly handOffSeconds = new Histogram({
    name: 'tnth_starter_hand_off_duration_seconds',
    help: 'Time for Temporal to accept one event (signal-with-start)',
    labelNames: ['kind'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly messageAgeSeconds = new Histogram({
    name: 'tnth_starter_message_age_seconds',
    help: 'Time from SQS accepting a message to Temporal accepting its last event',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly temporalAvailable = new Gauge({
    name: 'tnth_starter_temporal_available',
    help: '1 while Temporal accepts hand-offs; 0 while the starter holds messages and polls no more',
    registers: [this.registry],
  });

  readonly messagesHeld = new Gauge({
    name: 'tnth_starter_messages_held',
    help: 'Messages whose hand-off failed, kept invisible in the queue until Temporal is back',
    registers: [this.registry],
  });

  /**
   * NTH's `events_error_total` (pkg/observability/opentelemetry.go), counted where NTH counts it: its
   * SQS monitor's loop failed, by receiving or because no message of a batch could be processed. The
   * OpenTelemetry exporter NTH uses names its attribute `event_error_where` and adds the meter's scope.
   */
  readonly nthEventErrors = new Counter({
    name: 'events_error_total',
    help: "Number of errors in events processing (NTH's series): receives that failed, batches none of whose messages could be handled",
    labelNames: ['event_error_where', 'otel_scope_name', 'otel_scope_version'] as const,
    registers: [this.registry],
  });

  /** The labels of NTH's SQS monitor's errors. */
  readonly nthMonitorError = {
    event_error_where: 'SQS_MONITOR',
    otel_scope_name: 'aws.node.termination.handler',
    otel_scope_version: '',
  } as const;

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
    // NTH adds 0 at start: the series exists from the first scrape.
    this.nthEventErrors.inc({ otel_scope_name: 'aws.node.termination.handler', otel_scope_version: '' }, 0);
  }
}
