import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HttpStatusError, isHttpFailure, throwForStatus } from 'tripswitch/http';
import { retryAfterOf } from '../../src/core/types.js';

/** A real upstream on 127.0.0.1 whose answers are picked by path. */
function upstream(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/ok':
        res.end('fine');
        return;
      case '/redirect':
        res.writeHead(304).end();
        return;
      case '/loading':
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'Model gpt2 is currently loading', estimated_time: 20.5 }));
        return;
      case '/ratelimit':
        res.writeHead(429, { 'retry-after': '3' }).end('slow down');
        return;
      case '/ratelimit-date':
        res.writeHead(429, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }).end();
        return;
      case '/quota':
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { message: 'You exceeded your current quota', type: 'insufficient_quota' },
          }),
        );
        return;
      case '/bad':
        res.writeHead(400).end('{"error":{"message":"messages must not be empty"}}');
        return;
      case '/huge':
        res.writeHead(500);
        // 1 MiB body: only the first bytes are read
        res.end('x'.repeat(1024 * 1024));
        return;
      case '/unicode':
        res.writeHead(502).end('é'.repeat(10));
        return;
      // 'x' first: a cut by UTF-16 units (200 for the message, 1000 for a raw body) lands inside a pair.
      case '/emoji-json':
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `x${'😀'.repeat(600)}` } }));
        return;
      case '/emoji-raw':
        res.writeHead(502).end(`x${'😀'.repeat(600)}`);
        return;
      default:
        res.writeHead(404).end();
    }
  });
}

describe('throwForStatus against a real node:http server', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = upstream();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  async function thrown(
    path: string,
    options?: Parameters<typeof throwForStatus>[1],
  ): Promise<HttpStatusError> {
    const res = await fetch(base + path);
    const err = await throwForStatus(res, options).then(
      () => assert.fail(`expected ${path} to throw`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HttpStatusError, String(err));
    return err;
  }

  test('2xx and 3xx responses are returned untouched, body unread', async () => {
    const res = await fetch(`${base}/ok`);
    assert.equal(await throwForStatus(res), res);
    assert.equal(await res.text(), 'fine');
    const notModified = await fetch(`${base}/redirect`);
    assert.equal(await throwForStatus(notModified), notModified);
  });

  test('HF 503 loading → model_loading with a 20.5 s hint readable through retryAfterOf', async () => {
    const err = await thrown('/loading');
    assert.equal(err.status, 503);
    assert.equal(err.classification.reason, 'model_loading');
    assert.equal(err.retryable, true);
    assert.equal(err.retryAfter, 20_500);
    assert.equal(retryAfterOf(err), 20_500);
    assert.match(err.body ?? '', /currently loading/);
    assert.equal(err.headers['content-type'], 'application/json');
    assert.match(err.message, /HTTP 503 .*model_loading.*currently loading/);
    assert.equal(err.url, `${base}/loading`);
    assert.equal(isHttpFailure(err), true);
  });

  test('429 with Retry-After seconds or HTTP-date', async () => {
    const seconds = await thrown('/ratelimit');
    assert.equal(seconds.classification.reason, 'rate_limited');
    assert.equal(seconds.retryAfter, 3000);
    const dated = await thrown('/ratelimit-date');
    // HTTP dates have 1 s resolution; generous bounds
    assert.ok(
      dated.retryAfter !== undefined && dated.retryAfter > 50_000 && dated.retryAfter <= 60_000,
      String(dated.retryAfter),
    );
  });

  test('429 insufficient_quota → quota_exhausted, a failure that is not retryable', async () => {
    const err = await thrown('/quota');
    assert.equal(err.classification.reason, 'quota_exhausted');
    assert.equal(err.retryable, false);
    assert.equal(isHttpFailure(err), true);
  });

  test('400 is a client error: thrown, but not an upstream failure', async () => {
    const err = await thrown('/bad');
    assert.equal(err.status, 400);
    assert.equal(err.classification.reason, 'client_error');
    assert.equal(isHttpFailure(err), false);
    assert.match(err.message, /messages must not be empty/);
  });

  test('the body kept is bounded (default 64 KiB, or maxBodyBytes)', async () => {
    const err = await thrown('/huge');
    assert.equal(err.body?.length, 64 * 1024);
    const small = await thrown('/huge', { maxBodyBytes: 10 });
    assert.equal(small.body, 'x'.repeat(10));
    const none = await thrown('/huge', { maxBodyBytes: 0 });
    assert.equal(none.body, undefined);
    assert.equal(none.classification.reason, 'server_error');
  });

  test('multi-byte characters decode correctly', async () => {
    const err = await thrown('/unicode');
    assert.equal(err.body, 'é'.repeat(10));
  });

  test('upstream text full of emoji is cut between code points, in the message and in the body', async () => {
    const lone = /\p{Cs}/u;
    const json = await thrown('/emoji-json');
    assert.ok(json.message.endsWith(`: x${'😀'.repeat(199)}…`), json.message.slice(-12));
    assert.doesNotMatch(json.message, lone);
    const raw = await thrown('/emoji-raw');
    assert.ok(raw.message.endsWith(`: x${'😀'.repeat(199)}…`), raw.message.slice(-12));
    assert.doesNotMatch(raw.message, lone);
    // 6 bytes: 'x', one 4-byte emoji, then the first byte of the next: that byte is dropped, not U+FFFD.
    const bytes = await thrown('/emoji-raw', { maxBodyBytes: 6 });
    assert.equal(bytes.body, 'x😀');
  });

  test('invalid maxBodyBytes is a RangeError naming the option', async () => {
    const res = await fetch(`${base}/ok`);
    await assert.rejects(throwForStatus(res, { maxBodyBytes: -1 }), (e: unknown) => {
      return e instanceof RangeError && /maxBodyBytes/.test(e.message);
    });
    await res.body?.cancel();
  });
});

describe('HttpStatusError', () => {
  test('is an Error with a plain lower-cased header copy and no query string in the message', () => {
    const err = new HttpStatusError(503, {
      headers: new Headers({ 'Retry-After': '2' }),
      url: 'https://api.example.test/v1/chat?key=secret',
      statusText: 'Service Unavailable',
    });
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'HttpStatusError');
    assert.deepEqual(err.headers, { 'retry-after': '2' });
    assert.equal(err.retryAfter, 2000);
    assert.doesNotMatch(err.message, /secret/);
    assert.match(err.message, /HTTP 503 Service Unavailable from https:\/\/api\.example\.test\/v1\/chat/);
  });
});
