/**
 * The request paths `npm run bench:service` measures, each with what it expects to see: the status that
 * must dominate (so a table can never report the speed of the wrong answer) and how to put the service in
 * the state that path needs (circuit isolated by the operator action, sim latency).
 */
import { KNOWN_QUERIES, QueryCycle } from '../scenario/queries.js';
import { ADMIN_TOKEN } from './processes.js';

export const DEMO_TOKEN = 'demo-token';

export interface PathSpec {
  readonly id: string;
  readonly title: string;
  /** The status at least 95% of responses must have for the run to count. */
  readonly expectStatus: number;
  /** Breaker state the path needs: closed (sim healthy, `simLatencyMs`) or isolated (held open). */
  readonly circuit: 'closed' | 'isolated';
  readonly simLatencyMs?: number;
  readonly token: string;
  /** Body of the next request (called once per request, so paths may vary the question). */
  body(): string;
}

const CACHED_QUESTION = 'What does forgiveness ask of us?';

function query(q: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ query: q, ...extra });
}

export function paths(): PathSpec[] {
  let n = 0;
  // Questions the sample sermons answer (each finds at least one passage), never sent to the model here (the
  // model path asks numbered questions) and asked with `fallback` lists that skip the cache rung. A real
  // outage repeats questions too, so the list cycles.
  const excerptQuestions = new QueryCycle(KNOWN_QUERIES);
  return [
    {
      id: 'cache_hit',
      title: 'fresh cache hit',
      expectStatus: 200,
      circuit: 'closed',
      token: DEMO_TOKEN,
      body: () => query(CACHED_QUESTION),
    },
    {
      id: 'model_answer',
      title: 'model answer (sim, 10 ms latency)',
      expectStatus: 200,
      circuit: 'closed',
      simLatencyMs: 10,
      token: DEMO_TOKEN,
      // A new question every time: each one goes to the model.
      body: () => query(`Question ${n++}: what does the sermon say about patience?`),
    },
    {
      id: 'excerpts_open',
      title: 'excerpts, circuit open',
      expectStatus: 200,
      circuit: 'isolated',
      token: DEMO_TOKEN,
      body: () => query(excerptQuestions.next(), { fallback: ['excerpts'] }),
    },
    {
      id: 'unavailable_open',
      title: '503, circuit open',
      expectStatus: 503,
      circuit: 'isolated',
      token: DEMO_TOKEN,
      body: () => query(excerptQuestions.next(), { fallback: [] }),
    },
    {
      id: 'unauthorized',
      title: '401, bad token',
      expectStatus: 401,
      circuit: 'closed',
      token: 'not-a-valid-token',
      body: () => query(CACHED_QUESTION),
    },
  ];
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res;
}

/** Puts the service into the state `spec` needs; warms the cache entry the cache-hit path reads. */
export async function prepare(spec: PathSpec, serviceUrl: string, simUrl: string): Promise<void> {
  const action = spec.circuit === 'isolated' ? 'isolate' : 'reset';
  const res = await post(
    `${serviceUrl}/dashboard/api/breakers/llm/${action}`,
    {},
    {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    },
  );
  if (!res.ok) throw new Error(`breaker ${action} answered ${res.status}`);
  const mode = await post(`${simUrl}/_sim/mode`, { mode: 'healthy', latency_ms: spec.simLatencyMs ?? 0 });
  if (!mode.ok) throw new Error(`sim mode answered ${mode.status}`);
  if (spec.id === 'cache_hit') {
    const warm = await post(
      `${serviceUrl}/api/assistant/query`,
      { query: CACHED_QUESTION },
      {
        authorization: `Bearer ${DEMO_TOKEN}`,
      },
    );
    if (warm.status !== 200) throw new Error(`warming the cache answered ${warm.status}`);
  }
}
