import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authenticate, ensureUsers } from '../../src/adapters/db/users.js';
import {
  DEMO_TOKEN,
  DEMO_USER,
  hashToken,
  MAX_TOKEN_LENGTH,
  parseBearer,
  parseTokens,
  resolveTokens,
  tokenMatchesHash,
} from '../../src/domain/auth.js';
import { tempDatabase } from './tmp-db.js';

describe('token hashing', () => {
  test('hashToken is the hex SHA-256 of the token', () => {
    // Known SHA-256 test vector for "abc".
    assert.equal(hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.notEqual(hashToken('abc'), hashToken('abd'));
  });

  test('tokenMatchesHash accepts the right token only, and tolerates malformed stored hashes', () => {
    const stored = hashToken('s3cret-token');
    assert.equal(tokenMatchesHash('s3cret-token', stored), true);
    assert.equal(tokenMatchesHash('s3cret-tokem', stored), false);
    assert.equal(tokenMatchesHash('s3cret-token', 'abcd'), false);
    assert.equal(tokenMatchesHash('s3cret-token', ''), false);
  });
});

describe('parseTokens', () => {
  test('parses pairs, trimming whitespace and ignoring empty entries', () => {
    assert.deepEqual(parseTokens(' tok1:alice , tok2:bob,'), [
      { token: 'tok1', user: 'alice' },
      { token: 'tok2', user: 'bob' },
    ]);
  });

  test('the user follows the last colon, so tokens may contain colons', () => {
    assert.deepEqual(parseTokens('a:b:c:carol'), [{ token: 'a:b:c', user: 'carol' }]);
  });

  const malformed: [string, RegExp][] = [
    ['justatoken', /entry 1 is malformed/],
    ['tok1:alice,nocolon', /entry 2 is malformed/],
    [':alice', /entry 1 has an empty token/],
    ['tok:', /entry 1 has an empty user name/],
    ['tok:al ice', /user name/],
    ['tok:-alice', /user name/],
    ['t o k:alice', /visible ASCII/],
    [`${'x'.repeat(MAX_TOKEN_LENGTH + 1)}:alice`, /at most 512/],
    ['tok1:alice,tok2:alice', /"alice" is listed more than once/],
    ['tok1:alice,tok1:bob', /already assigned/],
    ['', /no "token:user" entries/],
    [' , ,', /no "token:user" entries/],
  ];
  for (const [spec, message] of malformed) {
    test(`rejects ${JSON.stringify(spec.slice(0, 30))} with a clear RangeError`, () => {
      assert.throws(
        () => parseTokens(spec),
        (err: unknown) => {
          assert.ok(err instanceof RangeError);
          assert.match(err.message, /ASSISTANT_TOKENS/);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test('errors never echo the token itself', () => {
    assert.throws(
      () => parseTokens('ok:alice,supersecretvalue:alice'),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.doesNotMatch(err.message, /supersecretvalue/);
        return true;
      },
    );
  });

  test('a non-string is a TypeError', () => {
    assert.throws(() => parseTokens(42 as unknown as string), TypeError);
  });
});

describe('resolveTokens', () => {
  test('unset or blank means demo mode', () => {
    for (const v of [undefined, '', '   ']) {
      assert.deepEqual(resolveTokens(v), { entries: [{ token: DEMO_TOKEN, user: DEMO_USER }], demo: true });
    }
    assert.equal(DEMO_TOKEN, 'demo-token');
    assert.equal(DEMO_USER, 'demo');
  });

  test('set means the listed users and no demo', () => {
    assert.deepEqual(resolveTokens('t:alice'), { entries: [{ token: 't', user: 'alice' }], demo: false });
  });
});

describe('parseBearer', () => {
  test('extracts the token from a Bearer header, scheme case-insensitive', () => {
    assert.equal(parseBearer('Bearer abc.DEF-1'), 'abc.DEF-1');
    assert.equal(parseBearer('bearer   abc'), 'abc');
  });

  test('null for missing, other schemes, empty and oversized values', () => {
    assert.equal(parseBearer(undefined), null);
    assert.equal(parseBearer(''), null);
    assert.equal(parseBearer('Basic dXNlcjpwYXNz'), null);
    assert.equal(parseBearer('Bearer'), null);
    assert.equal(parseBearer('Bearer a b'), null);
    assert.equal(parseBearer(`Bearer ${'x'.repeat(MAX_TOKEN_LENGTH + 1)}`), null);
    assert.equal(parseBearer(`Bearer ${'x'.repeat(1_000_000)}`), null);
  });
});

describe('ensureUsers and authenticate', () => {
  test('authenticates listed users and nobody else', (t) => {
    const { db } = tempDatabase(t);
    const users = ensureUsers(db, parseTokens('tok-a:alice,tok-b:bob'));
    assert.deepEqual(users, [
      { id: 'alice', name: 'alice' },
      { id: 'bob', name: 'bob' },
    ]);
    assert.deepEqual(authenticate(db, 'tok-a'), { id: 'alice', name: 'alice' });
    assert.deepEqual(authenticate(db, 'tok-b'), { id: 'bob', name: 'bob' });
    assert.equal(authenticate(db, 'tok-c'), null);
    assert.equal(authenticate(db, ''), null);
    assert.equal(authenticate(db, undefined), null);
    assert.equal(authenticate(db, 'x'.repeat(MAX_TOKEN_LENGTH + 1)), null);
  });

  test('stores only hashes, never the token', (t) => {
    const { db } = tempDatabase(t);
    ensureUsers(db, [{ token: 'plain-secret', user: 'alice' }]);
    const row = db.prepare<[], { token_hash: string }>('SELECT token_hash FROM users').get();
    assert.equal(row?.token_hash, hashToken('plain-secret'));
    const dump = JSON.stringify(db.prepare('SELECT * FROM users').all());
    assert.doesNotMatch(dump, /plain-secret/);
  });

  test('is an idempotent upsert; rotating a token locks out the old one', (t) => {
    const { db } = tempDatabase(t);
    ensureUsers(db, [{ token: 'old', user: 'alice' }]);
    ensureUsers(db, [{ token: 'old', user: 'alice' }]);
    assert.equal(db.prepare('SELECT count(*) AS n FROM users').pluck().get(), 1);
    ensureUsers(db, [{ token: 'new', user: 'alice' }]);
    assert.equal(authenticate(db, 'old'), null);
    assert.deepEqual(authenticate(db, 'new'), { id: 'alice', name: 'alice' });
  });

  test('users dropped from the list (e.g. leaving demo mode) are revoked but keep their data', (t) => {
    const { db } = tempDatabase(t);
    ensureUsers(db, resolveTokens(undefined).entries);
    assert.deepEqual(authenticate(db, DEMO_TOKEN), { id: 'demo', name: 'demo' });
    ensureUsers(db, parseTokens('t1:alice'));
    assert.equal(authenticate(db, DEMO_TOKEN), null);
    assert.equal(db.prepare("SELECT count(*) FROM users WHERE id = 'demo'").pluck().get(), 1);
  });

  test('a token can move from one user to another', (t) => {
    const { db } = tempDatabase(t);
    ensureUsers(db, parseTokens('shared:alice'));
    ensureUsers(db, parseTokens('shared:bob,fresh:alice'));
    assert.deepEqual(authenticate(db, 'shared'), { id: 'bob', name: 'bob' });
    assert.deepEqual(authenticate(db, 'fresh'), { id: 'alice', name: 'alice' });
  });
});

describe('the SQLite store keeps no memory of its own (issue 16 folded into the Authenticator)', () => {
  test('a change behind its back (another process) counts on the next lookup', (t) => {
    const { db } = tempDatabase(t);
    ensureUsers(db, parseTokens('tok-a:alice'));
    assert.deepEqual(authenticate(db, 'tok-a'), { id: 'alice', name: 'alice' });
    assert.equal(authenticate(db, 'tok-new'), null);
    db.prepare('UPDATE users SET token_hash = ? WHERE id = ?').run(hashToken('tok-new'), 'alice');
    assert.equal(authenticate(db, 'tok-a'), null);
    assert.deepEqual(authenticate(db, 'tok-new'), { id: 'alice', name: 'alice' });
  });
});
