// The scrubber and the query redaction on their own: what counts as a secret in upstream text and URLs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpStatusError } from 'tripswitch/http';
import { jobErrorText } from '../../src/adapters/queue/job-view.js';
import { codePointLength, sliceCodePoints } from '../../src/domain/text.js';
import { describeError } from '../../src/observability/logging.js';
import { REDACTED, redactQuery, Scrubber, safeUrl } from '../../src/observability/scrub.js';

const KEY = 'my-Custom.Key/with+chars=9';

test('configured secrets are replaced in every encoding they travel in', () => {
  const s = new Scrubber([KEY, undefined, '', 'short']);
  for (const form of [KEY, encodeURIComponent(KEY), JSON.stringify(KEY).slice(1, -1)]) {
    const out = s.scrub(`before ${form} after`);
    assert.equal(out.includes(form), false, out);
    assert.match(out, /before .*\[redacted\].* after/);
  }
  // Too-short "secrets" are not searched for verbatim (they would eat ordinary words).
  assert.equal(s.scrub('a short story'), 'a short story');
});

test('a name that only contains "sig" (signal, design) is not a credential; sig= still is', () => {
  const s = new Scrubber();
  // The shutdown log line names the signal that stopped the service.
  assert.equal(
    s.scrub('{"signal":"SIGTERM","msg":"shutting down"}'),
    '{"signal":"SIGTERM","msg":"shutting down"}',
  );
  assert.equal(s.scrub('design=minimal'), 'design=minimal');
  assert.equal(s.scrub('https://x.test/file?sig=abc123def&se=2026').includes('abc123def'), false);
  assert.equal(s.scrub('x_sig: abcdef12').includes('abcdef12'), false);
});

test('credential-shaped text is replaced without any configuration', () => {
  const s = new Scrubber();
  const cases: Array<[string, string]> = [
    ['Authorization: Bearer abc.def-ghi_123', 'abc.def-ghi_123'],
    ['auth basic dXNlcjpwYXNz', 'dXNlcjpwYXNz'],
    ['see https://x.test/v1?api_key=zzz999&model=m', 'zzz999'],
    ['{"access_token":"tok12345","ok":true}', 'tok12345'],
    ['password=hunter2 next', 'hunter2'],
    ['key sk-proj-AbCdEf0123456789xyz leaked', 'sk-proj-AbCdEf0123456789xyz'],
    ['hf_AbCdEfGhIjKlMnOpQrSt in use', 'hf_AbCdEfGhIjKlMnOpQrSt'],
    ['redis://:s3cretpw@cache:6379/0', 's3cretpw'],
    ['AKIAABCDEFGHIJKLMNOP', 'AKIAABCDEFGHIJKLMNOP'],
  ];
  for (const [text, secret] of cases) {
    const out = s.scrub(text);
    assert.equal(out.includes(secret), false, `${text} → ${out}`);
    assert.ok(out.includes(REDACTED), out);
  }
  // Ordinary text passes unchanged.
  const plain = 'HTTP 502 Bad Gateway from https://api.example/v1/chat (server_error): upstream overloaded';
  assert.equal(s.scrub(plain), plain);
});

test('request URLs keep parameter names, never values', () => {
  assert.equal(redactQuery('/a/b'), '/a/b');
  assert.equal(redactQuery('/a?token=x&limit=5'), '/a?token=[redacted]&limit=[redacted]');
  assert.equal(redactQuery('/a?sk-bare-secret'), '/a?[redacted]');
  assert.equal(redactQuery('/a?'), '/a?');
  assert.equal(safeUrl('https://u:p@host:1/v1?key=k#f'), 'https://host:1/v1');
  assert.equal(safeUrl('not a url'), '[unparseable URL]');
});

test('errors are described with class, code, classification and their cause chain (cycle-safe)', () => {
  const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  const err = new TypeError('fetch failed', { cause: root });
  const d = describeError(err);
  assert.equal(d.type, 'TypeError');
  assert.equal(d.kind, 'connection_refused');
  assert.deepEqual(d.cause, [
    { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:9', code: 'ECONNREFUSED' },
  ]);
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.equal(describeError(a).cause?.length, 1);
  assert.deepEqual(describeError('plain'), { type: 'string', message: 'plain' });
});

test('code points: one definition of length', () => {
  assert.equal(codePointLength('😀😀a'), 3);
  assert.equal(codePointLength('\ud83d'), 1);
  assert.equal(codePointLength(''), 0);
  assert.equal(sliceCodePoints('😀😀😀', 2), '😀😀');
  assert.equal(sliceCodePoints('ab', 5), 'ab');
});

test('a failed job records the error class and kind, never the upstream text', () => {
  const err = new HttpStatusError(502, { body: JSON.stringify({ error: { message: `bad key ${KEY}` } }) });
  assert.equal(err.message.includes(KEY), true, 'the upstream text does carry the key');
  const text = jobErrorText(err);
  assert.equal(text, 'the model could not answer: HttpStatusError (server_error)');
});
