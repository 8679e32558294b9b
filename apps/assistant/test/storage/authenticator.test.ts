// The authenticator over a UserStore: remembers valid tokens briefly (fewer database round trips), keeps
// them working for a while when the store fails (cached answers keep flowing), never remembers invalid
// tokens, and the DATABASE_URL settings are validated at start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { AuthUser, TokenEntry } from '../../src/domain/auth.js';
import { Authenticator } from '../../src/domain/authenticator.js';
import { StorageUnavailableError, type UserStore } from '../../src/domain/storage.js';

class FakeUsers implements UserStore {
  calls = 0;
  down = false;
  readonly tokens = new Map<string, AuthUser>([['good-token', { id: 'alice', name: 'alice' }]]);
  async ensureUsers(entries: readonly TokenEntry[]): Promise<AuthUser[]> {
    return entries.map((e) => ({ id: e.user, name: e.user }));
  }
  async authenticate(token: unknown): Promise<AuthUser | null> {
    this.calls++;
    if (this.down) throw new StorageUnavailableError();
    return this.tokens.get(String(token)) ?? null;
  }
}

test('valid tokens are remembered for freshMs, then asked again; invalid ones always reach the store', async () => {
  let now = 0;
  const users = new FakeUsers();
  const auth = new Authenticator(users, { freshMs: 1000, staleMs: 5000, now: () => now });
  assert.deepEqual(await auth.authenticate('good-token'), { id: 'alice', name: 'alice' });
  assert.deepEqual(await auth.authenticate('good-token'), { id: 'alice', name: 'alice' });
  assert.equal(users.calls, 1);
  now = 1000;
  await auth.authenticate('good-token');
  assert.equal(users.calls, 2, 'asked again once the memory is no longer fresh');
  assert.equal(await auth.authenticate('bad-token'), null);
  assert.equal(await auth.authenticate('bad-token'), null);
  assert.equal(users.calls, 4, 'an invalid token is never remembered');
  assert.equal(await auth.authenticate(''), null);
  assert.equal(await auth.authenticate(undefined), null);
  assert.equal(users.calls, 4, 'implausible tokens never reach the store');
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
