// A real OTLP/HTTP collector for tests: a node:http server on a free loopback port that accepts the JSON
// encoding on /v1/traces and /v1/metrics, keeps every request (path, headers, raw body) and flattens what it
// received into spans and metric points with plain attribute objects.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as received. */
  body: string;
}

export type AttributeValue = string | number | boolean | AttributeValue[] | null;

export interface ReceivedSpan {
  name: string;
  /** OTLP SpanKind: 3 is CLIENT. */
  kind: number;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  attributes: Record<string, AttributeValue>;
  resource: Record<string, AttributeValue>;
  scope: string;
}

export interface ReceivedPoint {
  metric: string;
  /** `gauge`, `sum` or `histogram`. */
  type: string;
  /** asInt / asDouble for gauges and sums, count for histograms. */
  value: number;
  attributes: Record<string, AttributeValue>;
  resource: Record<string, AttributeValue>;
}

export interface OtlpCollector {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly requests: OtlpRequest[];
  spans(): ReceivedSpan[];
  points(): ReceivedPoint[];
  /**
   * `ok`: 200; `fail`: 500 to every request (not retried by the exporter); `hang`: read requests but never
   * answer them (a collector that accepts and stalls).
   */
  setMode(mode: CollectorMode): void;
  close(): Promise<void>;
}

export type CollectorMode = 'ok' | 'fail' | 'hang';

// biome-ignore lint/suspicious/noExplicitAny: OTLP JSON is walked freely here
type Json = any;

function value(v: Json): AttributeValue {
  if (v === undefined || v === null) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(value);
  return null;
}

export function attributes(list: Json[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const a of list ?? []) out[a.key] = value(a.value);
  return out;
}

export async function startCollector(): Promise<OtlpCollector> {
  const requests: OtlpRequest[] = [];
  const stalled: ServerResponse[] = [];
  let mode: CollectorMode = 'ok';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (mode === 'hang') {
        stalled.push(res);
        return;
      }
      if (mode === 'fail') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collector failure');
        return;
      }
      if (req.method !== 'POST' || (path !== '/v1/traces' && path !== '/v1/metrics')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const bodies = (path: string): Json[] =>
    requests
      .filter((r) => r.path === path && r.headers['content-type']?.includes('json'))
      .map((r) => JSON.parse(r.body));

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans() {
      const out: ReceivedSpan[] = [];
      for (const body of bodies('/v1/traces')) {
        for (const rs of body.resourceSpans ?? []) {
          const resource = attributes(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              out.push({
                name: s.name,
                kind: s.kind,
                statusCode: s.status?.code ?? 0,
                attributes: attributes(s.attributes),
                resource,
                scope: ss.scope?.name ?? '',
              });
            }
          }
        }
      }
      return out;
    },
    points() {
      const out: ReceivedPoint[] = [];
      for (const body of bodies('/v1/metrics')) {
        for (const rm of body.resourceMetrics ?? []) {
          const resource = attributes(rm.resource?.attributes);
          for (const sm of rm.scopeMetrics ?? []) {
            for (const m of sm.metrics ?? []) {
              for (const type of ['gauge', 'sum', 'histogram']) {
                for (const p of m[type]?.dataPoints ?? []) {
                  const v = type === 'histogram' ? p.count : (p.asInt ?? p.asDouble);
                  out.push({
                    metric: m.name,
                    type,
                    value: Number(v),
                    attributes: attributes(p.attributes),
                    resource,
                  });
                }
              }
            }
          }
        }
      }
      return out;
    },
    setMode(next) {
      mode = next;
    },
    async close() {
      for (const res of stalled.splice(0)) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
