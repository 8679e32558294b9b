// Secrets never reach the logs: bearer tokens (valid or not) are absent from every captured pino line.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { startService } from '../helpers/service.js';

const SECRET = 'tok-S3cr3t-alpha-0f9e8d7c';
const WRONG = 'tok-Wr0ng-beta-1a2b3c4d';

test('the Authorization header never appears in the logs', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const svc = await startService({
    env: { ASSISTANT_TOKENS: `${SECRET}:alice`, LOG_LEVEL: 'trace' },
    logStream: sink,
  });
  t.after(() => svc.close());

  const authorized = { token: SECRET, headers: { cookie: `session=${SECRET}` } };
  assert.equal((await svc.query(SECRET, { query: 'hello there' })).status, 200);
  assert.equal((await svc.request('GET', '/api/documents', authorized)).status, 200);
  assert.equal((await svc.request('GET', '/api/documents', { token: WRONG })).status, 401);
  assert.equal((await svc.query(WRONG, { query: 'hello' })).status, 401);
  assert.equal((await svc.query(SECRET, { query: '' })).status, 400);
  assert.equal((await svc.request('GET', '/no/such/route', { token: SECRET })).status, 404);
  // Failures get logged with their errors: the breaker's listener, the degraded path.
  await svc.setMode({ mode: 'error' });
  for (let i = 0; i < 3; i++) await svc.query(SECRET, { query: `failing question ${i}` });
  await svc.close();

  const log = lines.join('');
  // The capture works: request lines and the breaker's opening were logged.
  assert.ok(lines.length >= 10, `only ${lines.length} log lines captured`);
  assert.match(log, /"url":"\/api\/documents"/);
  assert.match(log, /open/);
  for (const secret of [SECRET, WRONG, 'S3cr3t', 'Wr0ng']) {
    assert.equal(log.includes(secret), false, `log contains ${secret}`);
  }
  assert.equal(/authorization/i.test(log) && !/"authorization":"\[redacted\]"/i.test(log), false);
});
