// The authenticator over a UserStore — the service's one memory of token answers, whatever the store:
// remembers valid tokens briefly (fewer database round trips) and unknown ones more briefly, in bounded
// LRUs; keeps valid ones working for a while when the store fails (cached answers keep flowing); forgets
// everything at once when users change here; and the DATABASE_URL settings are validated at start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { AuthUser, TokenEntry } from '../../src/domain/auth.js';
import { AUTH_CACHE_DEFAULTS, Authenticator } from '../../src/domain/authenticator.js';
import { StorageUnavailableError, type UserStore } from '../../src/domain/storage.js';

class FakeUsers implements UserStore {
  calls = 0;
  down = false;
  /** When set, lookups wait for it (a slow database). */
  gate: Promise<void> | undefined;
  readonly tokens = new Map<string, AuthUser>([['good-token', { id: 'alice', name: 'alice' }]]);
  async ensureUsers(entries: readonly TokenEntry[]): Promise<AuthUser[]> {
    this.tokens.clear();
    for (const e of entries) this.tokens.set(e.token, { id: e.user, name: e.user });
    return entries.map((e) => ({ id: e.user, name: e.user }));
  }
  async authenticate(token: unknown): Promise<AuthUser | null> {
    this.calls++;
    const answer = this.tokens.get(String(token)) ?? null;
    await this.gate;
    if (this.down) throw new StorageUnavailableError();
    return answer;
  }
}

test('valid tokens are remembered for freshMs, unknown ones for negativeMs, then asked again', async () => {
  let now = 0;
  const users = new FakeUsers();
  const auth = new Authenticator(users, { freshMs: 1000, staleMs: 5000, negativeMs: 200, now: () => now });
  assert.deepEqual(await auth.authenticate('good-token'), { id: 'alice', name: 'alice' });
  assert.deepEqual(await auth.authenticate('good-token'), { id: 'alice', name: 'alice' });
  assert.equal(users.calls, 1);
  now = 1000;
  await auth.authenticate('good-token');
  assert.equal(users.calls, 2, 'asked again once the memory is no longer fresh');
  assert.equal(await auth.authenticate('bad-token'), null);
  assert.equal(await auth.authenticate('bad-token'), null);
  assert.equal(users.calls, 3, 'an unknown token is remembered for negativeMs');
  now = 1200;
  assert.equal(await auth.authenticate('bad-token'), null);
  assert.equal(users.calls, 4, 'and asked again after it');
  assert.equal(await auth.authenticate(''), null);
  assert.equal(await auth.authenticate(undefined), null);
  assert.equal(users.calls, 4, 'implausible tokens never reach the store');
});

test('10,000 distinct unknown tokens: the memory stays within maxNegativeEntries, valid users stay', async () => {
  const users = new FakeUsers();
  const auth = new Authenticator(users);
  await auth.authenticate('good-token');
  for (let i = 0; i < 10_000; i++) assert.equal(await auth.authenticate(`guess-${i}`), null);
  assert.deepEqual(auth.size, { valid: 1, invalid: AUTH_CACHE_DEFAULTS.maxNegativeEntries });
  const calls = users.calls;
  await auth.authenticate('good-token');
  assert.equal(users.calls, calls, 'the valid user was not evicted by the guesses');
  const small = new Authenticator(users, { maxNegativeEntries: 10, maxEntries: 2 });
  for (let i = 0; i < 100; i++) await small.authenticate(`guess-${i}`);
  assert.deepEqual(small.size, { valid: 0, invalid: 10 });
});

test('ensureUsers here: a revoked token fails and a new one works on the next lookup', async () => {
  const now = 0;
  const users = new FakeUsers();
  const auth = new Authenticator(users, { now: () => now });
  assert.equal((await auth.authenticate('good-token'))?.id, 'alice');
  assert.equal(await auth.authenticate('new-token'), null);
  await auth.ensureUsers([{ token: 'new-token', user: 'alice' }]);
  assert.equal(await auth.authenticate('good-token'), null);
  assert.equal((await auth.authenticate('new-token'))?.id, 'alice');
});

test('a lookup in flight while users change here answers, but is not remembered', async () => {
  const users = new FakeUsers();
  const auth = new Authenticator(users);
  let release = () => {};
  users.gate = new Promise<void>((r) => {
    release = r;
  });
  const inFlight = auth.authenticate('good-token'); // read before the change
  await auth.ensureUsers([{ token: 'other-token', user: 'bob' }]);
  release();
  assert.equal((await inFlight)?.id, 'alice');
  users.gate = undefined;
  assert.equal(await auth.authenticate('good-token'), null, 'the stale answer was not remembered');
});

test('options out of range are a RangeError naming the option', () => {
  const users = new FakeUsers();
  assert.throws(() => new Authenticator(users, { maxEntries: 0 }), /maxEntries must be an integer >= 1/);
  assert.throws(() => new Authenticator(users, { negativeMs: -1 }), /negativeMs must be an integer >= 0/);
  assert.throws(() => new Authenticator(users, { maxNegativeEntries: 1.5 }), /maxNegativeEntries/);
});

test('a revoked token stops working once the memory is stale', async () => {
  let now = 0;
  const users = new FakeUsers();
  const auth = new Authenticator(users, { freshMs: 1000, now: () => now });
  await auth.authenticate('good-token');
  users.tokens.delete('good-token');
  now = 1000;
  assert.equal(await auth.authenticate('good-token'), null);
});

test('while the store fails, a token seen within staleMs still works; others get the store error', async () => {
  let now = 0;
  const users = new FakeUsers();
  const auth = new Authenticator(users, { freshMs: 1000, staleMs: 5000, now: () => now });
  await auth.authenticate('good-token');
  users.down = true;
  now = 4999;
  assert.equal((await auth.authenticate('good-token'))?.id, 'alice');
  await assert.rejects(auth.authenticate('other-token'), StorageUnavailableError);
  now = 5000;
  await assert.rejects(auth.authenticate('good-token'), StorageUnavailableError);
});

test('DATABASE_URL and the pool settings are validated at start, and the password is never echoed', () => {
  const base = { LLM_PROVIDER: 'sim' };
  assert.equal(loadConfig(base).databaseUrl, undefined);
  assert.equal(loadConfig({ ...base, DATABASE_URL: 'postgres://u@h/db' }).databaseUrl, 'postgres://u@h/db');
  assert.throws(
    () => loadConfig({ ...base, DATABASE_URL: 'mysql://u:hunter2@h/db' }),
    (err: Error) =>
      err instanceof ConfigError &&
      /DATABASE_URL must be a postgres/.test(err.message) &&
      !err.message.includes('hunter2'),
  );
  assert.throws(() => loadConfig({ ...base, DATABASE_URL: 'not a url' }), ConfigError);
  assert.throws(
    () => loadConfig({ ...base, DATABASE_POOL_MAX: '0' }),
    /DATABASE_POOL_MAX must be an integer in \[1, 100\]/,
  );
  assert.throws(
    () => loadConfig({ ...base, DATABASE_STATEMENT_TIMEOUT_MS: '5' }),
    /DATABASE_STATEMENT_TIMEOUT_MS must be an integer in \[100, 600000\]/,
  );
});
