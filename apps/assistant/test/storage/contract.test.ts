// One contract for both storage adapters: the same tests run against a real SQLite file and a real
// PostgreSQL database (a fresh one per test, dropped afterwards). A behaviour one adapter has and the
// other lacks fails here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CircuitBreaker } from 'tripswitch';
import { openSqliteStorage } from '../../src/adapters/db/sqlite-storage.js';
import { openPostgres } from '../../src/adapters/postgres/index.js';
import { QueueFullError, StoreJobQueue } from '../../src/adapters/queue/store-queue.js';
import { OFF_TOPIC_QUESTIONS, ON_TOPIC_QUESTIONS } from '../../src/corpus/labelled-questions.js';
import { SAMPLE_SERMONS } from '../../src/corpus/sermons.js';
import { AUTH_CACHE_DEFAULTS, Authenticator } from '../../src/domain/authenticator.js';
import type { Storage, UserStore } from '../../src/domain/storage.js';
import { createTestDatabase, skipWithoutPostgres } from '../helpers/postgres.js';

interface Backend {
  name: string;
  skip: false | string;
  /** A fresh, empty storage; `clock` drives created/updated times. */
  open(clock?: () => number): Promise<Storage>;
  /** Two storages on one fresh database (two instances sharing it). */
  openPair(): Promise<[Storage, Storage]>;
}

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.allSettled(cleanups.map((c) => c()));
});

const backends: Backend[] = [
  {
    name: 'sqlite',
    skip: false,
    async open(clock) {
      const dir = mkdtempSync(join(tmpdir(), 'assistant-contract-'));
      const storage = openSqliteStorage(join(dir, 'a.db'), clock ? { now: clock } : {});
      cleanups.push(async () => {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return storage;
    },
    async openPair() {
      const dir = mkdtempSync(join(tmpdir(), 'assistant-contract-'));
      const pair: [Storage, Storage] = [
        openSqliteStorage(join(dir, 'a.db')),
        openSqliteStorage(join(dir, 'a.db')),
      ];
      cleanups.push(async () => {
        for (const s of pair) await s.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return pair;
    },
  },
  {
    name: 'postgres',
    skip: await skipWithoutPostgres(),
    async open(clock) {
      const db = await createTestDatabase();
      const storage = await openPostgres(db.url, { max: 3, ...(clock ? { now: clock } : {}) });
      cleanups.push(async () => {
        await storage.close();
        await db.drop();
      });
      return storage;
    },
    async openPair() {
      const db = await createTestDatabase();
      const pair = await Promise.all([openPostgres(db.url, { max: 2 }), openPostgres(db.url, { max: 2 })]);
      cleanups.push(async () => {
        for (const s of pair) await s.close();
        await db.drop();
      });
      return pair;
    },
  },
];

const ALICE = { token: 'alice-token-0123456789', user: 'alice' };
const BOB = { token: 'bob-token-0123456789', user: 'bob' };

/** A UserStore that counts the lookups reaching the real one. */
function counted(users: UserStore): UserStore & { lookups: number } {
  const c = {
    lookups: 0,
    ensureUsers: (entries: Parameters<UserStore['ensureUsers']>[0]) => users.ensureUsers(entries),
    authenticate: (token: unknown) => {
      c.lookups++;
      return users.authenticate(token);
    },
  };
  return c;
}

async function withUsers(backend: Backend, clock?: () => number): Promise<Storage> {
  const storage = await backend.open(clock);
  await storage.users.ensureUsers([ALICE, BOB]);
  return storage;
}

for (const backend of backends) {
  describe(`storage contract: ${backend.name}`, { skip: backend.skip }, () => {
    test('users: tokens authenticate their user; revoked and unknown tokens do not', async () => {
      const s = await withUsers(backend);
      assert.deepEqual(await s.users.authenticate(ALICE.token), { id: 'alice', name: 'alice' });
      assert.equal(await s.users.authenticate('nope-not-a-token'), null);
      assert.equal(await s.users.authenticate(''), null);
      assert.equal(await s.users.authenticate(42), null);
      assert.equal(await s.users.authenticate('x'.repeat(10_000)), null);
      // Bob leaves the configuration; Alice's token moves to a new value.
      await s.users.ensureUsers([{ token: 'alice-new-token-98765', user: 'alice' }]);
      assert.equal(await s.users.authenticate(BOB.token), null);
      assert.equal(await s.users.authenticate(ALICE.token), null);
      assert.equal((await s.users.authenticate('alice-new-token-98765'))?.id, 'alice');
      // A token moving from one user to another does not trip the uniqueness of token hashes.
      await s.users.ensureUsers([{ token: 'alice-new-token-98765', user: 'bob' }]);
      assert.equal((await s.users.authenticate('alice-new-token-98765'))?.id, 'bob');
    });

    test('users through the Authenticator: a change here counts at once; one elsewhere within the TTLs', async () => {
      const [here, there] = await backend.openPair();
      await here.users.ensureUsers([ALICE, BOB]);
      let now = 1_000_000;
      const users = counted(here.users);
      const auth = new Authenticator(users, { now: () => now });
      assert.deepEqual(await auth.authenticate(ALICE.token), { id: 'alice', name: 'alice' });
      assert.equal(await auth.authenticate('carol-token-0123456789'), null);
      assert.equal(await auth.authenticate('carol-token-0123456789'), null);
      assert.deepEqual(await auth.authenticate(ALICE.token), { id: 'alice', name: 'alice' });
      assert.equal(users.lookups, 2, 'a valid and an unknown answer are both remembered');
      const alice = await auth.authenticate(ALICE.token);
      assert.throws(() => {
        (alice as { id: string }).id = 'bob';
      }, TypeError);

      // Another instance rotates Alice's token and adds Carol: remembered answers hold until their TTL...
      await there.users.ensureUsers([
        { token: 'alice-rotated-0123456789', user: 'alice' },
        { token: 'carol-token-0123456789', user: 'carol' },
      ]);
      now += AUTH_CACHE_DEFAULTS.negativeMs - 1;
      assert.equal(await auth.authenticate('carol-token-0123456789'), null);
      now += 1;
      assert.equal(
        (await auth.authenticate('carol-token-0123456789'))?.id,
        'carol',
        'unknown: within negativeMs',
      );
      assert.equal((await auth.authenticate(ALICE.token))?.id, 'alice');
      now = 1_000_000 + AUTH_CACHE_DEFAULTS.freshMs;
      assert.equal(await auth.authenticate(ALICE.token), null, 'revoked elsewhere: within freshMs');

      // ...while a change made through this Authenticator counts on the very next lookup.
      assert.equal((await auth.authenticate('carol-token-0123456789'))?.id, 'carol');
      assert.equal(await auth.authenticate('bob-new-token-0123456789'), null);
      await auth.ensureUsers([{ token: 'bob-new-token-0123456789', user: 'bob' }]);
      assert.equal(await auth.authenticate('carol-token-0123456789'), null, 'revoked here: at once');
      assert.equal((await auth.authenticate('bob-new-token-0123456789'))?.id, 'bob', 'added here: at once');
    });

    test('users: 10,000 made-up tokens stay within the Authenticator bound and never evict a valid user', async () => {
      const s = await withUsers(backend);
      const users = counted(s.users);
      const auth = new Authenticator(users);
      assert.equal((await auth.authenticate(ALICE.token))?.id, 'alice');
      for (let i = 0; i < 10_000; i += 100) {
        const batch = Array.from({ length: 100 }, (_, k) => auth.authenticate(`guess-${i + k}-0123456789`));
        assert.deepEqual(new Set(await Promise.all(batch)), new Set([null]));
      }
      assert.deepEqual(auth.size, { valid: 1, invalid: AUTH_CACHE_DEFAULTS.maxNegativeEntries });
      const before = users.lookups;
      assert.equal((await auth.authenticate(ALICE.token))?.id, 'alice');
      assert.equal(users.lookups, before, 'Alice is still remembered');
    });

    test('documents: create, list newest first, get, count, delete — each user sees only their own', async () => {
      let now = 1_000;
      const s = await withUsers(backend, () => now++);
      const a1 = await s.documents.createDocument('alice', { title: ' First ', content: 'one two three' });
      const a2 = await s.documents.createDocument('alice', { title: 'Second', content: 'ünïcödé 🎉 text' });
      await s.documents.createDocument('bob', { title: 'Bob only', content: 'secret of bob' });
      assert.equal(a1.title, 'First');
      assert.equal(a2.size, [...'ünïcödé 🎉 text'].length, 'size counts code points (the emoji is one)');
      const listed = await s.documents.listDocuments('alice');
      assert.deepEqual(
        listed.map((d) => d.id),
        [a2.id, a1.id],
      );
      assert.equal(listed[0]?.size, a2.size);
      assert.deepEqual(await s.documents.listDocuments('alice', { limit: 1, offset: 1 }), [listed[1]]);
      assert.equal(await s.documents.countDocuments('alice'), 2);
      assert.equal((await s.documents.getDocument('alice', a2.id))?.content, 'ünïcödé 🎉 text');
      assert.equal(await s.documents.getDocument('bob', a1.id), null);
      assert.equal(await s.documents.deleteDocument('bob', a1.id), false);
      assert.equal(await s.documents.deleteDocument('alice', a1.id), true);
      assert.equal(await s.documents.countDocuments('alice'), 1);
      assert.equal(await s.documents.countDocuments('nobody'), 0);
    });

    test('documents: invalid input is refused with a named error and stores nothing', async () => {
      const s = await withUsers(backend);
      const bad: Array<[unknown, RegExp, new (...a: never[]) => Error]> = [
        [{ title: 42, content: 'x' }, /title must be a string/, TypeError],
        [{ title: 'ok', content: '   ' }, /content must be 1-200000/, RangeError],
        [{ title: 'x'.repeat(301), content: 'x' }, /title must be 1-300/, RangeError],
        [{ title: 'ok', content: 'a\u0000b' }, /content must not contain NUL/, RangeError],
        [null, /title must be a string/, TypeError],
      ];
      for (const [input, message, type] of bad) {
        await assert.rejects(
          s.documents.createDocument('alice', input as never),
          (err: Error) => err instanceof type && message.test(err.message),
        );
      }
      assert.equal(await s.documents.countDocuments('alice'), 0);
      await assert.rejects(s.documents.listDocuments('alice', { limit: 0 }), RangeError);
      await assert.rejects(s.documents.listDocuments('alice', { offset: -1 }), RangeError);
      await assert.rejects(s.documents.searchPassages('alice', 'x', 51), RangeError);
    });

    test('search: finds the user’s own matching documents, best first, never another user’s', async () => {
      const s = await withUsers(backend);
      const mercy = await s.documents.createDocument('alice', {
        title: 'On mercy',
        content: 'Mercy is the heart of the story. The father runs to meet the son with mercy.',
      });
      await s.documents.createDocument('alice', {
        title: 'Bread',
        content: 'We speak of daily bread and mercy once.',
      });
      await s.documents.createDocument('alice', { title: 'Unrelated', content: 'Weather and gardens.' });
      await s.documents.createDocument('bob', { title: 'Bob mercy', content: 'mercy mercy mercy' });
      const hits = await s.documents.searchPassages('alice', 'What is mercy?', 5);
      assert.equal(hits.length, 2);
      assert.equal(hits[0]?.documentId, mercy.id);
      assert.ok(hits.every((h) => h.title !== 'Bob mercy'));
      assert.ok((hits[0]?.score ?? 0) > (hits[1]?.score ?? 0));
      assert.match(hits[0]?.text ?? '', /mercy/i);
      assert.deepEqual(await s.documents.searchPassages('alice', 'what is it?'), []);
      assert.deepEqual(await s.documents.searchPassages('alice', ''), []);
      assert.deepEqual(await s.documents.searchPassages('carol', 'mercy'), []);
    });

    test('search: any text is safe (query syntax, quotes, operators, huge input)', async () => {
      const s = await withUsers(backend);
      await s.documents.createDocument('alice', { title: 'Doc', content: 'foo bar baz and more' });
      for (const q of [
        '"foo" AND ( NOT -bar *',
        "foo' OR 1=1; --",
        'foo:* & !bar | <-> (',
        'NEAR(foo bar) title:foo',
        '\\\\ \u0000 \uD800 foo',
        `${'foo '.repeat(5000)}`,
      ]) {
        const hits = await s.documents.searchPassages('alice', q);
        assert.ok(hits.length <= 1, q);
        assert.ok(hits.every((h) => h.title === 'Doc'));
      }
    });

    test('search: words of other scripts are indexed and found', async () => {
      const s = await withUsers(backend);
      const ru = await s.documents.createDocument('alice', {
        title: 'Притча',
        content: 'Блудный сын вернулся домой к отцу.',
      });
      const el = await s.documents.createDocument('alice', {
        title: 'Παραβολή',
        content: 'Ο άσωτος υιός επέστρεψε.',
      });
      assert.equal((await s.documents.searchPassages('alice', 'сын'))[0]?.documentId, ru.id);
      assert.equal((await s.documents.searchPassages('alice', 'άσωτος'))[0]?.documentId, el.id);
    });

    test('documents version: a fingerprint of what the user’s documents say, per user', async () => {
      const s = await withUsers(backend);
      const empty = await s.documents.documentsVersion('alice');
      const a = await s.documents.createDocument('alice', { title: 'A', content: 'first text' });
      const b = await s.documents.createDocument('alice', { title: 'B', content: 'second text' });
      const v2 = await s.documents.documentsVersion('alice');
      assert.notEqual(v2, empty);
      assert.equal(await s.documents.documentsVersion('bob'), empty, 'another user’s documents do not count');
      await s.documents.createDocument('bob', { title: 'Bob', content: 'bob text' });
      assert.equal(
        await s.documents.documentsVersion('alice'),
        v2,
        'Bob’s documents do not move Alice’s version',
      );
      // Delete one and add another: same count, the newest document still the newest of two.
      assert.equal(await s.documents.deleteDocument('alice', a.id), true);
      const c = await s.documents.createDocument('alice', { title: 'C', content: 'third text' });
      assert.equal(await s.documents.countDocuments('alice'), 2);
      const v3 = await s.documents.documentsVersion('alice');
      assert.notEqual(v3, v2, 'a different set of the same size has a different version');
      // The fingerprint is of the content: the same documents again give the same version.
      assert.equal(await s.documents.deleteDocument('alice', c.id), true);
      await s.documents.createDocument('alice', { title: 'A', content: 'first text' });
      assert.equal(await s.documents.documentsVersion('alice'), v2);
      assert.equal(await s.documents.deleteDocument('alice', b.id), true);
      assert.notEqual(await s.documents.documentsVersion('alice'), v2);
    });

    test('jobs: enqueue, owner-only lookup, one claim per job, result stored by the lease holder only', async () => {
      let now = 10_000;
      const s = await withUsers(backend, () => now);
      const job = await s.jobs.enqueueJob('alice', 'why? \u0000 "quoted"', { a: 1 }, { maxAttempts: 3 });
      assert.equal(job.status, 'queued');
      assert.equal((await s.jobs.getJob('alice', job.id))?.query, 'why? \u0000 "quoted"');
      assert.equal(await s.jobs.getJob('bob', job.id), null);
      assert.equal(await s.jobs.countPendingJobs('alice'), 1);
      const claimed = await s.jobs.claimNextJob('w1', now, 1000);
      assert.equal(claimed?.id, job.id);
      assert.equal(claimed?.attempts, 1);
      assert.equal(claimed?.leaseOwner, 'w1');
      assert.equal(await s.jobs.claimNextJob('w2', now, 1000), null, 'a leased job is not claimed twice');
      assert.equal(await s.jobs.completeJob(job.id, 'w2', { answer: 'no' }), false);
      assert.equal(await s.jobs.completeJob(job.id, 'w1', { answer: 'yes \u0000' }), true);
      const done = await s.jobs.getJob('alice', job.id);
      assert.equal(done?.status, 'done');
      assert.deepEqual(done?.result, { answer: 'yes \u0000' });
      assert.deepEqual(await s.jobs.countJobs(), { queued: 0, running: 0, done: 1, failed: 0 });
      assert.equal(await s.jobs.countPendingJobs('alice'), 0);
      now += 100;
      assert.equal(await s.jobs.pruneJobs(now), 1);
      assert.equal(await s.jobs.getJob('alice', job.id), null);
    });

    test('jobs: an expired lease is claimed again; the old owner cannot write; defer spends no attempt', async () => {
      let now = 10_000;
      const s = await withUsers(backend, () => now);
      const job = await s.jobs.enqueueJob('bob', 'q', {}, { maxAttempts: 2 });
      assert.equal(await s.jobs.nextDueAt(), now);
      await s.jobs.claimNextJob('dead', now, 500);
      assert.equal(await s.jobs.nextDueAt(), now + 500);
      now += 499;
      assert.equal(await s.jobs.claimNextJob('w2', now, 500), null);
      now += 1;
      const again = await s.jobs.claimNextJob('w2', now, 500);
      assert.equal(again?.attempts, 2);
      assert.equal(await s.jobs.renewLease(job.id, 'dead', now, 500), false);
      assert.equal(await s.jobs.renewLease(job.id, 'w2', now, 5000), true);
      assert.equal(await s.jobs.deferJob(job.id, 'dead', now), false);
      assert.equal(await s.jobs.deferJob(job.id, 'w2', now + 50), true);
      const deferred = await s.jobs.getJob('bob', job.id);
      assert.equal(deferred?.status, 'queued');
      assert.equal(deferred?.attempts, 1, 'the deferred claim is not counted');
      assert.equal(await s.jobs.claimNextJob('w3', now, 500), null, 'not before its run time');
      now += 50;
      assert.equal((await s.jobs.claimNextJob('w3', now, 500))?.attempts, 2);
      assert.equal(await s.jobs.retryJob(job.id, 'w3', now, new Error('upstream 500')), 'failed');
      const failed = await s.jobs.getJob('bob', job.id);
      assert.equal(failed?.error, 'upstream 500');
      assert.equal(await s.jobs.nextDueAt(), null);
      // Bad arguments reject (never a synchronous throw from an async port) and change nothing.
      await assert.rejects(s.jobs.deferJob(job.id, 'w3', Number.NaN), RangeError);
      await assert.rejects(s.jobs.renewLease(job.id, 'w3', now, 0), RangeError);
      await assert.rejects(s.jobs.claimNextJob('', now, 500), TypeError);
      await assert.rejects(s.jobs.enqueueJob('bob', 'q', {}, { maxAttempts: 0 }), RangeError);
    });

    test('jobs: a worker that dies on the last allowed attempt fails the job instead of looping', async () => {
      let now = 10_000;
      const s = await withUsers(backend, () => now);
      const job = await s.jobs.enqueueJob('alice', 'crashy', {}, { maxAttempts: 1 });
      await s.jobs.claimNextJob('dead', now, 100);
      now += 100;
      assert.equal(await s.jobs.claimNextJob('w2', now, 100), null);
      const failed = await s.jobs.getJob('alice', job.id);
      assert.equal(failed?.status, 'failed');
      assert.match(failed?.error ?? '', /lease expired on the last allowed attempt/);
    });

    test('jobs: workers claiming at once never share a job', async () => {
      const s = await withUsers(backend);
      const ids = new Set<string>();
      for (let i = 0; i < 30; i++) ids.add((await s.jobs.enqueueJob(i % 2 ? 'alice' : 'bob', `q${i}`)).id);
      const now = Date.now() + 1000;
      const claims = await Promise.all(
        Array.from({ length: 40 }, (_, i) => s.jobs.claimNextJob(`w${i}`, now, 60_000)),
      );
      const got = claims.filter((c) => c !== null).map((c) => c.id);
      assert.equal(new Set(got).size, got.length, 'no job claimed twice');
      assert.ok(got.every((id) => ids.has(id)));
      // Whatever a racing claimer skipped is still claimable afterwards.
      for (;;) {
        const next = await s.jobs.claimNextJob('late', now, 60_000);
        if (!next) break;
        got.push(next.id);
      }
      assert.equal(new Set(got).size, 30);
    });

    test('seeding: two instances seeding one new database at once add the documents once', async () => {
      const [one, two] = await backend.openPair();
      await one.users.ensureUsers([ALICE]);
      await two.users.ensureUsers([ALICE]);
      const docs = Array.from({ length: 5 }, (_, i) => ({ title: `Seed ${i}`, content: `seed body ${i}` }));
      const added = await Promise.all([
        one.documents.seedIfEmpty('alice', docs),
        two.documents.seedIfEmpty('alice', docs),
      ]);
      assert.deepEqual(added.toSorted(), [0, 5]);
      assert.equal(await one.documents.countDocuments('alice'), 5);
      assert.equal(await one.documents.seedIfEmpty('alice', docs), 0);
      await assert.rejects(two.documents.seedIfEmpty('bob', [{ title: '', content: 'x' }]), RangeError);
    });

    test('queue: the per-user cap refuses a user’s next job, not anyone else’s', async () => {
      const s = await withUsers(backend);
      const queue = new StoreJobQueue({
        store: s.jobs,
        kind: backend.name,
        run: async () => {
          throw new Error('not started');
        },
        breaker: new CircuitBreaker({ name: 'contract' }),
        leaseMs: 1000,
        maxPendingPerUser: 2,
      });
      await queue.enqueue('alice', 'one');
      const second = await queue.enqueue('alice', 'two');
      await assert.rejects(queue.enqueue('alice', 'three'), QueueFullError);
      assert.match(await queue.enqueue('bob', 'one'), /^job_/);
      assert.equal((await queue.get('alice', second))?.status, 'queued');
      assert.equal(await queue.get('bob', second), null);
      assert.deepEqual(await queue.counts(), { queued: 3, running: 0, done: 0, failed: 0 });
    });

    test('readiness answers and close is idempotent', async () => {
      const s = await backend.open();
      assert.equal(await s.ready(), true);
      await s.close();
      await s.close();
      assert.equal(await s.ready(), false);
    });
  });
}

// One corpus, several users, both stores: every user's ranked excerpts (titles, passage text, scores) and
// documents versions must be identical, because both stores apply the same rules (domain/search). Covers
// other scripts, astral-plane characters, the look-alike forms the normaliser folds (İ, ß, ligatures,
// full-width), an off-topic question and questions only another user's documents answer.
const postgresSkip = backends.find((b) => b.name === 'postgres')?.skip ?? false;

const CROSS_USERS = [ALICE, BOB, { token: 'carol-token-0123456789', user: 'carol' }];
const CROSS_CORPUS: ReadonlyArray<readonly [string, { title: string; content: string }]> = [
  ...SAMPLE_SERMONS.slice(0, 8).map((d) => ['alice', d] as const),
  ...SAMPLE_SERMONS.slice(4, 14).map((d) => ['bob', d] as const),
  ...SAMPLE_SERMONS.slice(12).map((d) => ['carol', d] as const),
  [
    'alice',
    {
      title: 'Notes from İSTANBUL',
      content:
        'A walk through İstanbul at dawn.\n\nDie Straße nach Emmaus, GROẞ und weit.\n\nThe ﬁre of the spirit and the ﬂame of the oﬀering.\n\nＭｅｒｃｙ endures; ＨＯＰＥ in hard times.',
    },
  ],
  [
    'alice',
    {
      title: '𝐌𝐞𝐫𝐜𝐲 in other scripts 🎉',
      content:
        'Блудный сын вернулся домой к отцу. Ο άσωτος υιός επέστρεψε. मेरा भारत महान है।\n\n' +
        '𠀋𠀌 are rare characters 🙏🏽; 東京 の 空. ΣΟΦΙΑΣ and σοφίας. Ǆemal met the ſtrength of Ⅻ apostles.',
    },
  ],
  ['alice', { title: 'Volcano? no', content: 'Gardens, weather and mercy at the harvest.' }],
  [
    'bob',
    {
      title: 'Volcanoes',
      content: 'Lava flows from the volcano after the eruption; magma chambers refill over centuries.',
    },
  ],
  ['bob', { title: 'Straße', content: 'STRASSE und Straße: İstanbul, ıstanbul, ISTANBUL. ﬁre FIRE 🔥' }],
  ['carol', { title: 'Mercy mercy', content: 'mercy mercy mercy grace grace forgiveness patience patience' }],
];
const CROSS_QUESTIONS = [
  ...ON_TOPIC_QUESTIONS.slice(0, 25).map((q) => q.question),
  ...OFF_TOPIC_QUESTIONS.map((q) => q.question),
  'istanbul',
  'İSTANBUL strasse',
  'straße GROSS',
  'FIRE flame offering',
  'ＭＥＲＣＹ and ｈｏｐｅ',
  'mercy',
  '𝐦𝐞𝐫𝐜𝐲 🎉',
  '🎉🙏🏽',
  '𠀋𠀌',
  'сын домой',
  'ΣΟΦΊΑΣ',
  'भारत',
  '東京',
  'džemal strength xii',
  'What happens in a volcano eruption and where does lava come from?',
  'mercy grace forgiveness patience',
  'what is it?',
];

describe('storage contract: both stores rank alike', { skip: postgresSkip }, () => {
  test('the same documents give identical excerpts, scores and documents versions in SQLite and PostgreSQL', async () => {
    const stores = await Promise.all(backends.map((b) => b.open()));
    for (const s of stores) {
      await s.users.ensureUsers(CROSS_USERS);
      // In the same order in both: ties keep index order, so it must be the same.
      for (const [user, doc] of CROSS_CORPUS) await s.documents.createDocument(user, doc);
    }
    const results = await Promise.all(
      stores.map(async (s) => {
        const hits: Record<string, Array<{ title: string; text: string; score: number }>> = {};
        const versions: Record<string, string> = {};
        for (const { user } of CROSS_USERS) {
          versions[user] = await s.documents.documentsVersion(user);
          for (const q of CROSS_QUESTIONS) {
            const found = await s.documents.searchPassages(user, q, 5);
            hits[`${user}: ${q}`] = found.map((h) => ({ title: h.title, text: h.text, score: h.score }));
          }
        }
        return { hits, versions };
      }),
    );
    const [sqlite, postgres] = results as [(typeof results)[0], (typeof results)[0]];
    const differing = Object.keys(sqlite.hits).filter(
      (key) => JSON.stringify(postgres.hits[key]) !== JSON.stringify(sqlite.hits[key]),
    );
    assert.deepEqual(
      differing,
      [],
      `${differing.length} of ${Object.keys(sqlite.hits).length} searches differ`,
    );
    assert.deepEqual(postgres.hits, sqlite.hits);
    assert.deepEqual(postgres.versions, sqlite.versions);
    // The comparison is not vacuous: the corpus exercises both outcomes.
    const hitsOf = (key: string) => sqlite.hits[key] ?? [];
    assert.ok(hitsOf(`alice: ${ON_TOPIC_QUESTIONS[0]!.question}`).length > 0);
    assert.deepEqual(hitsOf(`alice: ${OFF_TOPIC_QUESTIONS[0]!.question}`), []);
    assert.deepEqual(hitsOf('alice: What happens in a volcano eruption and where does lava come from?'), []);
    assert.equal(
      hitsOf('bob: What happens in a volcano eruption and where does lava come from?')[0]?.title,
      'Volcanoes',
    );
    assert.equal(hitsOf('alice: İSTANBUL strasse')[0]?.title, 'Notes from İSTANBUL');
    assert.equal(hitsOf('alice: 𠀋𠀌')[0]?.title, '𝐌𝐞𝐫𝐜𝐲 in other scripts 🎉');
    assert.ok(hitsOf('alice: ＭＥＲＣＹ and ｈｏｐｅ').length >= 2);
  });
});
