// `npm start` as a newcomer meets it (src/main.ts in a child process): the banner says what the service
// calls, a busy port is one line naming the variable, a relative DATABASE_PATH is relative to where
// `npm start` was run (INIT_CWD), and a `.env` there is read.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collectOutput } from '../helpers/child-service.js';
import { closedPort } from '../helpers/ports.js';
import { TEST_ENV } from '../helpers/service.js';

const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(APP_DIR, 'src', 'main.ts');

interface Run {
  output: string;
  /** Exit code, or null when the service came up (it is then stopped). */
  code: number | null;
}

/** Runs main.ts until it prints its URL (then stops it) or exits by itself. */
async function run(env: Record<string, string>, timeoutMs = 90_000): Promise<Run> {
  const base: Record<string, string | undefined> = { ...process.env };
  // The test runner may itself run under npm: its INIT_CWD and .env must not leak in.
  delete base.INIT_CWD;
  const child = spawn(process.execPath, ['--conditions=tripswitch-source', '--import', 'tsx', MAIN], {
    cwd: APP_DIR,
    env: { ...base, ...TEST_ENV, LOG_LEVEL: 'warn', PORT: '0', SIM_PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const up = await new Promise<boolean>((resolve) => {
      const onData = () => {
        if (/listening on http/.test(output()) && /dashboard:/.test(output())) resolve(true);
      };
      child.stdout.on('data', onData);
      child.once('exit', () => resolve(false));
    });
    if (up) {
      child.kill('SIGTERM');
      await exited;
      return { output: output(), code: null };
    }
    const [code] = await exited;
    return { output: output(), code: code as number };
  } finally {
    clearTimeout(timer);
  }
}

async function busyPort(): Promise<{ port: number; close: () => void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { port: address.port, close: () => server.close() };
}

test('a busy PORT or SIM_PORT: one line naming the variable, non-zero exit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'assistant-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const busy = await busyPort();
  t.after(() => busy.close());
  // HOST 127.0.0.1 so the busy listener (also on 127.0.0.1) collides.
  for (const variable of ['PORT', 'SIM_PORT']) {
    const result = await run({ [variable]: String(busy.port), DATABASE_PATH: join(dir, `${variable}.db`) });
    assert.notEqual(result.code, null, `${variable}: the service started anyway:\n${result.output}`);
    assert.notEqual(result.code, 0);
    const lines = result.output.trim().split('\n');
    assert.equal(lines.length, 1, result.output);
    assert.match(
      lines[0] ?? '',
      new RegExp(`port ${busy.port} is already in use: set ${variable} to a free port`),
    );
    assert.equal(/EADDRINUSE|\n\s+at /.test(result.output), false, result.output);
  }
});

test('banner names provider, base URL and model, warns about a missing key, never prints secrets', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'assistant-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const result = await run({
    LLM_PROVIDER: 'openai',
    LLM_BASE_URL: 'http://user:hunter2pass@127.0.0.1:9/v1?api_key=querysecret1',
    LLM_MODEL: 'gpt-test-mini',
    LLM_API_KEY: '',
    DATABASE_PATH: join(dir, 'a.db'),
  });
  assert.equal(result.code, null, result.output);
  assert.match(
    result.output,
    /LLM: provider openai, base URL http:\/\/127\.0\.0\.1:9\/v1, model gpt-test-mini/,
  );
  assert.match(result.output, /warning: LLM_API_KEY is not set/);
  assert.equal(/hunter2pass|querysecret1/.test(result.output), false, result.output);

  const withKey = await run({
    LLM_PROVIDER: 'openai',
    LLM_BASE_URL: 'http://127.0.0.1:9/v1',
    LLM_API_KEY: 'sk-banner-secret-123456',
    DATABASE_PATH: join(dir, 'b.db'),
  });
  assert.equal(withKey.code, null, withKey.output);
  assert.equal(/LLM_API_KEY is not set|sk-banner-secret/.test(withKey.output), false, withKey.output);
});

test('relative DATABASE_PATH and .env are found in the directory npm start was run from (INIT_CWD)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'assistant-cwd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.env'), 'LLM_MODEL=model-from-dotenv\n# a comment\nDATABASE_PATH=state/mine.db\n');
  const result = await run({ INIT_CWD: dir });
  assert.equal(result.code, null, result.output);
  assert.match(result.output, /model model-from-dotenv/);
  assert.ok(existsSync(join(dir, 'state', 'mine.db')), result.output);
  assert.equal(existsSync(join(APP_DIR, 'state')), false);

  // The environment wins over the file.
  const override = await run({ INIT_CWD: dir, LLM_MODEL: 'model-from-env', DATABASE_PATH: 'other.db' });
  assert.match(override.output, /model model-from-env/);
  assert.ok(existsSync(join(dir, 'other.db')));
});

test('README and .env.example document every environment variable the service reads', async () => {
  const { readFileSync } = await import('node:fs');
  const root = join(APP_DIR, '..', '..');
  const sources = ['config.ts', 'main.ts']
    .map((f) => readFileSync(join(APP_DIR, 'src', f), 'utf8'))
    .join('\n');
  const read = new Set<string>();
  for (const m of sources.matchAll(/env(?:\.|, ')([A-Z][A-Z0-9_]+)/g)) read.add(m[1] as string);
  read.delete('INIT_CWD'); // set by npm, not by users
  assert.ok(read.size >= 25, [...read].join(' '));
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const example = readFileSync(join(root, '.env.example'), 'utf8');
  for (const name of read) {
    assert.ok(readme.includes(`\`${name}\``), `README misses ${name}`);
    assert.match(example, new RegExp(`^#?${name}=`, 'm'), `.env.example misses ${name}`);
  }
});

/** README's quoted output as a pattern: `…` stands for anything, the rest is literal. */
function quoted(fragment: string): RegExp {
  const literal = fragment.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(literal.join('.*?'));
}

test('the start-up lines README quotes are the real ones (PostgreSQL banner, unreachable database)', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { createTestDatabase, skipWithoutPostgres } = await import('../helpers/postgres.js');
  const skip = await skipWithoutPostgres();
  assert.equal(skip, false, String(skip));
  const readme = readFileSync(join(APP_DIR, '..', '..', 'README.md'), 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/\s*\n\s*/g, ' ');
  const spans = [...readme.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
  // Case-insensitive here, so a README that capitalises differently from the banner is caught below.
  const bannerQuotes = spans.filter((s) => /^database: (PostgreSQL|SQLite)/i.test(s));
  const failureQuotes = spans.filter((s) => /^(AssistantService cannot start|start-up failed)/i.test(s));
  assert.ok(bannerQuotes.length > 0, 'README quotes the database banner line');
  assert.ok(failureQuotes.length >= 2, 'README quotes the migration and unreachable-database lines');

  const db = await createTestDatabase();
  t.after(() => db.drop());
  // Trust authentication ignores the password; the banner must hide it all the same.
  const url = new URL(db.url);
  url.password = 'banner-pw-8c1d';
  const up = await run({ DATABASE_URL: url.toString() });
  assert.equal(up.code, null, up.output);
  assert.equal(up.output.includes('banner-pw-8c1d'), false, up.output);
  for (const q of bannerQuotes)
    assert.match(up.output, quoted(q), `README quotes "${q}"; the banner:\n${up.output}`);

  const down = await run({
    DATABASE_URL: `postgres://postgres:banner-pw-8c1d@127.0.0.1:${await closedPort()}/x`,
  });
  assert.equal(down.code, 3, down.output);
  assert.equal(down.output.includes('banner-pw-8c1d'), false, down.output);
  const unreachable = failureQuotes.filter((q) => /cannot connect/.test(q));
  assert.ok(unreachable.length > 0, 'README quotes the unreachable-database line');
  for (const q of unreachable) assert.match(down.output, quoted(q), `README quotes "${q}":\n${down.output}`);
  // Every failure line README quotes has the real prefix (a failed migration is not provoked here).
  for (const q of failureQuotes) assert.match(q, /^AssistantService cannot start: /);
});
