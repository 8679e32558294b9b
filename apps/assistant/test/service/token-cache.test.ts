// The service's one token memory (domain Authenticator, issue 16 folded in) through the real HTTP service, on
// both user stores: a token revoked on this instance gets 401 on the very next request, and a flood of
// made-up tokens leaves the memory within its bound.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AUTH_CACHE_DEFAULTS } from '../../src/domain/authenticator.js';
import { createTestDatabase, skipWithoutPostgres } from '../helpers/postgres.js';
import { type Service, startService } from '../helpers/service.js';

const ALICE = 'tok-alice-3c9d1e7f5a';
const BOB = 'tok-bob-8e2a4c6b0d';

const cleanups: Array<() => Promise<void>> = [];
const stores: Array<{ name: string; skip: false | string; env(): Promise<Record<string, string>> }> = [
  { name: 'sqlite', skip: false, env: async () => ({}) },
  {
    name: 'postgres',
    skip: await skipWithoutPostgres(),
    async env() {
      const db = await createTestDatabase();
      cleanups.push(() => db.drop());
      return { DATABASE_URL: db.url, DATABASE_POOL_MAX: '4' };
    },
  },
];

async function start(env: Record<string, string>): Promise<Service> {
  return startService({ env: { ...env, ASSISTANT_TOKENS: `${ALICE}:alice,${BOB}:bob` } });
}

for (const store of stores) {
  describe(`token memory: ${store.name}`, { skip: store.skip }, () => {
    test('revoked on this instance: the next request is a 401, a new token works at once', async (t) => {
      const svc = await start(await store.env());
      t.after(async () => {
        await svc.close();
        for (const c of cleanups.splice(0)) await c();
      });
      const list = (token: string) => svc.request('GET', '/api/documents', { token });
      assert.equal((await list(ALICE)).status, 200);
      assert.equal((await list(ALICE)).status, 200, 'now remembered');
      assert.equal((await list('tok-carol-1f2e3d4c5b')).status, 401, 'unknown, and remembered as such');
      await svc.app.auth.ensureUsers([
        { token: BOB, user: 'bob' },
        { token: 'tok-carol-1f2e3d4c5b', user: 'carol' },
      ]);
      const revoked = await list(ALICE);
      assert.equal(revoked.status, 401, revoked.text);
      assert.equal((await list('tok-carol-1f2e3d4c5b')).status, 200);
      assert.equal((await list(BOB)).status, 200);
    });

    test('10,000 distinct made-up tokens: 401 each, the memory stays within its bound', async (t) => {
      const svc = await start(await store.env());
      t.after(async () => {
        await svc.close();
        for (const c of cleanups.splice(0)) await c();
      });
      assert.equal((await svc.request('GET', '/api/documents', { token: ALICE })).status, 200);
      const statuses = new Map<number, number>();
      for (let i = 0; i < 10_000; i += 50) {
        const replies = await Promise.all(
          Array.from({ length: 50 }, (_, k) =>
            svc.request('GET', '/api/documents', { token: `guess-${i + k}-0a1b2c3d` }),
          ),
        );
        for (const r of replies) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
      assert.deepEqual([...statuses], [[401, 10_000]]);
      assert.deepEqual(svc.app.auth.size, { valid: 1, invalid: AUTH_CACHE_DEFAULTS.maxNegativeEntries });
      assert.equal((await svc.request('GET', '/api/documents', { token: ALICE })).status, 200);
    });
  });
}
