// `npm start` at the repository root, exactly as a user runs it: SIGTERM to the PID the user holds (npm's) stops
// the whole service promptly — no node process stays behind, the ports are free — even with an answer stream
// open on a model that went silent (it ends with the "shutting down" event).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { collectOutput } from '../helpers/child-service.js';
import { closedPort } from '../helpers/ports.js';
import { DEMO_TOKEN, eventually, TEST_ENV } from '../helpers/service.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** True when nothing listens on the port any more (we can bind it ourselves). */
async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

/** Every live descendant of `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (exited, not yet reaped) is not running.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('root `npm start`: SIGTERM to its PID stops every process promptly, an open stalled stream included', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'assistant-root-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await closedPort();
  const simPort = await closedPort();
  const base: Record<string, string | undefined> = { ...process.env };
  // The runner may itself run under npm: its INIT_CWD and npm_* must not leak in.
  for (const key of Object.keys(base)) if (key === 'INIT_CWD' || key.startsWith('npm_')) delete base[key];
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      ...base,
      ...TEST_ENV,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      SIM_PORT: String(simPort),
      DATABASE_PATH: join(dir, 'assistant.db'),
      // Far away: only the stop itself can end the stalled stream below within the test.
      LLM_STREAM_IDLE_TIMEOUT_MS: '120000',
      LLM_FIRST_TOKEN_TIMEOUT_MS: '120000',
      LLM_TIMEOUT_MS: '120000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = once(child, 'exit');
  let tree: number[] = [];
  t.after(() => {
    // Whatever this test started and is still running goes (by PID, the processes seen under npm).
    for (const pid of [child.pid!, ...tree]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`npm start exited:\n${output()}`);
      const res = await fetch(`${url}/health/ready`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    'the service to be ready',
    120_000,
    200,
  );
  tree = descendants(child.pid!);
  assert.ok(tree.length > 0, 'npm started the service as a child process');

  // A stream on a model that sends three tokens and then goes silent.
  const mode = await fetch(`http://127.0.0.1:${simPort}/_sim/mode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode: 'stall', latency_ms: 10 }),
  });
  assert.equal(mode.status, 200);
  const res = await fetch(`${url}/api/assistant/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEMO_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'What does forgiveness mean?', stream: true }),
  });
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  while ((seen.match(/event: token/g) ?? []).length < 3) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  await sleep(100);

  const started = performance.now();
  child.kill('SIGTERM');
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  assert.match(seen, /event: error\ndata: \{"reason":"shutting_down"/, seen);
  await exited;
  // main.ts forces exit after 15 s of stopping; a prompt stop is far below that.
  await eventually(
    () => (tree.every((pid) => !alive(pid)) ? true : undefined),
    'every process under npm to exit',
    15_000,
    50,
  );
  const took = performance.now() - started;
  assert.ok(took < 7_500, `the stop took ${Math.round(took)} ms`);
  assert.equal(await portIsFree(port), true, 'PORT still taken');
  assert.equal(await portIsFree(simPort), true, 'SIM_PORT still taken');
  assert.match(output(), /listening on http/);
});
