// OpenTelemetry export (OTEL_EXPORTER_OTLP_ENDPOINT): a MeterProvider and a TracerProvider, each with its own
// OTLP/HTTP (JSON) exporter, built only when the variable is set — app.ts imports this module dynamically, so
// without it no OpenTelemetry SDK module is ever loaded. Metrics are the library's breaker instruments
// (tripswitch/otel: the same ones /metrics shows); traces are one span per model call (the domain's
// ModelCallTracer port). Exporting runs on the SDK's timers, off the request path: a collector that is down or
// hangs costs requests nothing, its failures are logged at most once a minute per signal, and shutdown waits
// a bounded time.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { type Attributes, type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
// sdk-trace, not sdk-trace-base: in 2.x the latter is a shim over it whose provider and batch processor also take
// OTEL_TRACES_SAMPLER, OTEL_BSP_* and span-limit variables from the environment, which the service does not support.
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_ERROR_TYPE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { BreakerRegistry } from 'tripswitch';
import { BreakerMetrics } from 'tripswitch/otel';
import type { OtelConfig } from '../../config.js';
import type {
  ModelCallEnd,
  ModelCallStart,
  ModelCallTrace,
  ModelCallTracer,
} from '../../domain/model-tracing.js';

/**
 * GenAI attribute names (OpenTelemetry GenAI semantic conventions). They are incubating: the semantic-conventions
 * package marks them as moved to the GenAI conventions, so they are spelled out here rather than imported.
 * `gen_ai.system` is the older name of `gen_ai.provider.name`; both are set for backends that know only one.
 */
const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  stream: 'gen_ai.request.stream',
  responseModel: 'gen_ai.response.model',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
} as const;

/** The breaker's and the service's own attributes. */
export const TRIPSWITCH_ATTRIBUTES = {
  breakerName: 'tripswitch.breaker.name',
  stateAtAdmission: 'tripswitch.breaker.state',
  stateAfter: 'tripswitch.breaker.state_after',
  decision: 'tripswitch.decision',
  outcome: 'tripswitch.outcome',
  attempts: 'tripswitch.attempts',
  fallbackReason: 'assistant.fallback_reason',
  refused: 'assistant.refused',
  tokensStreamed: 'assistant.tokens_streamed',
} as const;

/** Longest a graceful stop waits for the last exports (the collector may be down or hanging). */
const SHUTDOWN_WAIT_MS = 5_000;
/** Longest the shutdown's check that the collector still takes connections may take (a TCP connect). */
const PROBE_WAIT_MS = 1_000;
/** At most one "export failed" line per signal in this interval while the collector stays unreachable. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

export interface Telemetry {
  /** One span per model call (plug into LlmGateway). */
  readonly tracer: ModelCallTracer;
  /** Flushes what is buffered and stops the exporters; resolves within SHUTDOWN_WAIT_MS whatever the collector does. */
  shutdown(options?: ShutdownOptions): Promise<void>;
}

export interface ShutdownOptions {
  /**
   * Default true: send what is left (bounded wait). False (a start that failed: nothing was served): drop it
   * and stop at once. Either way a collector that refuses connections is not waited for.
   */
  flush?: boolean;
}

export interface TelemetryDeps {
  /** Every breaker in it (present and future) is exported through tripswitch/otel's instruments. */
  registry: BreakerRegistry;
  /** Export failures and recoveries (scrubbed like every log line). */
  logger: Logger;
}

/** Starts OpenTelemetry export as configured (see OtelConfig). */
export function startTelemetry(config: OtelConfig, deps: TelemetryDeps): Telemetry {
  const resource = defaultResource().merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config.serviceName,
      [ATTR_SERVICE_VERSION]: serviceVersion(),
      'service.instance.id': randomUUID(),
    }),
  );
  const log = deps.logger.child({ component: 'opentelemetry' });
  const exporterOptions = { headers: { ...config.headers }, timeoutMillis: config.exportTimeoutMs };

  // Set when the last exports are not worth sending: every export then fails at once, without a request.
  const dropping = { on: false };
  const spanExporter = new OTLPTraceExporter({ ...exporterOptions, url: config.tracesUrl });
  watchExports(spanExporter, new ExportFailures('traces', log), dropping);
  const tracerProvider = new TracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: spanExporter,
        scheduledDelayMillis: config.spanDelayMs,
        exportTimeoutMillis: config.exportTimeoutMs,
      }),
    ],
  });

  const metricExporter = new OTLPMetricExporter({ ...exporterOptions, url: config.metricsUrl });
  watchExports(metricExporter, new ExportFailures('metrics', log), dropping);
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: metricExporter,
        exportIntervalMillis: config.metricIntervalMs,
        exportTimeoutMillis: Math.min(config.exportTimeoutMs, config.metricIntervalMs),
      }),
    ],
  });
  const breakers = new BreakerMetrics({ meterProvider });
  const stopTracking = breakers.trackRegistry(deps.registry);

  const tracer = new SpanModelCallTracer(tracerProvider.getTracer('assistant', serviceVersion()));
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    shutdown({ flush = true }: ShutdownOptions = {}) {
      stopped ??= (async () => {
        stopTracking();
        // A collector that refuses connections gets nothing: the exporter would retry the last export until
        // its timeout. One that accepts (even slowly) gets the last export within SHUTDOWN_WAIT_MS.
        const refused = flush && (await refusesConnections([config.tracesUrl, config.metricsUrl]));
        if (refused)
          log.info({ reason: refused }, 'OpenTelemetry: collector unreachable, last export dropped');
        dropping.on = !flush || refused !== undefined;
        const done = Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
        // Dropping, only exports already under way (perhaps in a retry pause) are left: not waited for.
        if (dropping.on) return;
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), SHUTDOWN_WAIT_MS);
          timer.unref();
        });
        const how = await Promise.race([done, late]);
        clearTimeout(timer);
        if (how === 'late') log.warn({ waited_ms: SHUTDOWN_WAIT_MS }, 'OpenTelemetry: last export abandoned');
      })();
      return stopped;
    },
  };
}

/**
 * The error code (ECONNREFUSED, ENOTFOUND, …) when no collector URL takes a TCP connection, undefined when
 * one does or a check does not finish within PROBE_WAIT_MS (a slow network is given the benefit of the doubt).
 */
async function refusesConnections(urls: readonly string[]): Promise<string | undefined> {
  const targets = new Set<string>();
  for (const raw of urls) {
    try {
      const url = new URL(raw);
      const port = url.port || (url.protocol === 'https:' ? '443' : '80');
      targets.add(JSON.stringify([url.hostname.replace(/^\[|\]$/g, ''), Number(port)]));
    } catch {
      return undefined;
    }
  }
  const results = await Promise.all(
    [...targets].map((t) => {
      const [host, port] = JSON.parse(t) as [string, number];
      return new Promise<string | undefined>((resolve) => {
        const socket = connect({ host, port });
        const finish = (result: string | undefined) => {
          clearTimeout(timer);
          socket.destroy();
          resolve(result);
        };
        const timer = setTimeout(() => finish(undefined), PROBE_WAIT_MS);
        timer.unref();
        socket.once('connect', () => finish(undefined));
        socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code ?? 'connection error'));
      });
    }),
  );
  return results.every((r) => r !== undefined) ? results[0] : undefined;
}

/** The ModelCallTracer port as OpenTelemetry client spans named `chat <model>` (GenAI conventions). */
export class SpanModelCallTracer implements ModelCallTracer {
  readonly #tracer: Tracer;

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  start(call: ModelCallStart): ModelCallTrace {
    let span: Span;
    try {
      span = this.#tracer.startSpan(`chat ${call.model}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          [GEN_AI.operation]: 'chat',
          [GEN_AI.provider]: call.provider,
          [GEN_AI.system]: call.provider,
          [GEN_AI.requestModel]: call.model,
          [GEN_AI.stream]: call.operation === 'stream',
          [TRIPSWITCH_ATTRIBUTES.breakerName]: call.breakerName,
          [TRIPSWITCH_ATTRIBUTES.stateAtAdmission]: call.breakerState,
        },
      });
    } catch {
      return NO_TRACE; // tracing must never break a model call
    }
    let ended = false;
    return {
      end(result) {
        if (ended) return;
        ended = true;
        try {
          span.setAttributes(endAttributes(result));
          if (result.outcome !== 'success') span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        } catch {
          // as above
        }
      },
    };
  }
}

const NO_TRACE: ModelCallTrace = { end() {} };

function endAttributes(r: ModelCallEnd): Attributes {
  const a: Attributes = {
    [TRIPSWITCH_ATTRIBUTES.decision]: r.decision,
    [TRIPSWITCH_ATTRIBUTES.outcome]: r.outcome,
    [TRIPSWITCH_ATTRIBUTES.attempts]: r.attempts,
    [TRIPSWITCH_ATTRIBUTES.stateAfter]: r.breakerState,
  };
  if (r.fallbackReason !== undefined) a[TRIPSWITCH_ATTRIBUTES.fallbackReason] = r.fallbackReason;
  if (r.errorType !== undefined && r.outcome !== 'success') a[ATTR_ERROR_TYPE] = r.errorType;
  if (r.responseModel !== undefined) a[GEN_AI.responseModel] = r.responseModel;
  if (r.finishReason !== undefined) a[GEN_AI.finishReasons] = [r.finishReason];
  if (r.usage !== undefined) {
    a[GEN_AI.inputTokens] = r.usage.promptTokens;
    a[GEN_AI.outputTokens] = r.usage.completionTokens;
  }
  if (r.refused !== undefined) a[TRIPSWITCH_ATTRIBUTES.refused] = r.refused;
  if (r.tokensStreamed !== undefined) a[TRIPSWITCH_ATTRIBUTES.tokensStreamed] = r.tokensStreamed;
  return a;
}

/** The shape both OTLP exporters share: `export(items, done)` reports each export's result. */
interface Exporter<T> {
  export(items: T, done: (result: { code: number; error?: Error }) => void): void;
}

/** Reports every export's result to `failures` (the exporter's own logging goes to `diag`, which is not set). */
function watchExports<T>(exporter: Exporter<T>, failures: ExportFailures, dropping: { on: boolean }): void {
  const send = exporter.export.bind(exporter);
  exporter.export = (items, done) => {
    if (dropping.on) {
      done({ code: EXPORT_FAILED, error: new Error('dropped at shutdown') });
      return;
    }
    send(items, (result) => {
      failures.record(result);
      done(result);
    });
  };
}

/** ExportResultCode.SUCCESS of @opentelemetry/core (not a direct dependency). */
const EXPORT_SUCCESS = 0;
/** ExportResultCode.FAILED. */
const EXPORT_FAILED = 1;

/**
 * Export failures of one signal, logged without flooding: the first failure, then at most one line per
 * FAILURE_LOG_INTERVAL_MS with the count since the last line, and one line when exports succeed again.
 */
export class ExportFailures {
  #failing = false;
  #lastLog = 0;
  #unlogged = 0;

  constructor(
    readonly signal: 'traces' | 'metrics',
    readonly log: Pick<Logger, 'warn' | 'info'>,
    readonly intervalMs = FAILURE_LOG_INTERVAL_MS,
    readonly now: () => number = () => performance.now(),
  ) {}

  record(result: { code: number; error?: Error }): void {
    if (result.code === EXPORT_SUCCESS) {
      if (this.#failing) {
        this.#failing = false;
        this.log.info({ exporter: this.signal }, 'OpenTelemetry export recovered');
      }
      return;
    }
    this.#unlogged++;
    const now = this.now();
    if (this.#failing && now - this.#lastLog < this.intervalMs) return;
    this.#failing = true;
    this.#lastLog = now;
    this.log.warn(
      { exporter: this.signal, failed_exports: this.#unlogged, reason: reasonOf(result.error) },
      'OpenTelemetry export failed: telemetry is dropped until the collector answers',
    );
    this.#unlogged = 0;
  }
}

/** A short, low-cardinality reason: the socket error code, the collector's HTTP status, or the message. */
function reasonOf(error: Error | undefined): string {
  if (error === undefined) return 'unknown';
  const { code } = error as { code?: unknown };
  if (typeof code === 'string') return code;
  if (typeof code === 'number') return `HTTP ${code}`;
  return error.message.slice(0, 200);
}

let version: string | undefined;

/** apps/assistant/package.json's version (the same depth from src/ and from dist/). */
function serviceVersion(): string {
  if (version === undefined) {
    try {
      const url = new URL('../../../package.json', import.meta.url);
      version = String((JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
