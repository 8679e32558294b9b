// domain/text.ts: the one definition of length (code points) and the cuts built on it. The service-level
// cases are in test/service/code-points.test.ts; these pin the helpers' edges.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildPrompt, parsePrompt } from '../../src/adapters/llm/prompt.js';
import { errorText } from '../../src/domain/job-rules.js';
import {
  clipText,
  codePointLength,
  isWellFormed,
  requireWellFormed,
  SurrogateJoiner,
  sliceCodePoints,
  toWellFormed,
} from '../../src/domain/text.js';

const lone = /\p{Cs}/u;

test('clipText: a word break in the second half, else a grapheme boundary; at most max code points', () => {
  assert.equal(clipText('one two three four', 12), 'one two…');
  // No space: cut between code points...
  const emoji = `${'😀'.repeat(20)}`;
  assert.equal(clipText(emoji, 10), `${'😀'.repeat(9)}…`);
  // ...and never inside a cluster: a family (man ZWJ woman ZWJ girl, 5 code points) stays whole or goes.
  const family = '👨\u200d👩\u200d👧';
  const clipped = clipText(`ab${family}${family}`, 6);
  assert.equal(clipped, 'ab…');
  // A cluster longer than the whole budget is cut between code points (nothing better exists).
  const marks = `g${'\u0301'.repeat(50)}`;
  assert.equal(codePointLength(clipText(marks, 10)), 10);
  fc.assert(
    fc.property(
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.integer({ min: 2, max: 80 }),
      (s, max) => {
        const out = clipText(s, max);
        assert.ok(codePointLength(out) <= max, out);
        assert.doesNotMatch(out, lone);
      },
    ),
  );
});

test('SurrogateJoiner: a chunk ending in a high surrogate waits for its low half', () => {
  const j = new SurrogateJoiner();
  assert.equal(j.push('a\ud83d'), 'a');
  assert.equal(j.push('\ude00b'), '😀b');
  assert.equal(j.push('\ud83d'), '');
  assert.equal(j.end(), '\ufffd', 'a half the stream never completed is U+FFFD');
  assert.equal(new SurrogateJoiner().push('\ude00x'), '\ufffdx', 'an upstream lone low half');
  fc.assert(
    fc.property(
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (s, cuts) => {
        const at = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
        const joiner = new SurrogateJoiner();
        const out: string[] = [];
        let from = 0;
        for (const c of [...at, s.length]) {
          out.push(joiner.push(s.slice(from, c)));
          from = c;
        }
        out.push(joiner.end());
        for (const o of out) assert.doesNotMatch(o, lone);
        assert.equal(out.join(''), s);
      },
    ),
  );
});

test('well-formedness: lone halves found, replaced, or refused with the field and position', () => {
  assert.equal(isWellFormed('a😀'), true);
  assert.equal(isWellFormed('a\ud83d'), false);
  assert.equal(isWellFormed('\ude00😀'), false);
  assert.equal(toWellFormed('a\ud83d😀\ude00'), 'a\ufffd😀\ufffd');
  assert.equal(requireWellFormed('ok 😀', 'query'), 'ok 😀');
  assert.throws(
    () => requireWellFormed('😀😀\ud83d', 'query'),
    (e: Error & { statusCode?: number }) =>
      e.statusCode === 400 &&
      /^query must be well-formed Unicode: unpaired surrogate at character 2/.test(e.message),
  );
  assert.equal(sliceCodePoints('\ud83d\ud83d', 1), '\ud83d');
});

test('prompt passages are clipped in code points without splitting a pair', () => {
  const text = `x${'😀'.repeat(100)}`;
  const built = buildPrompt('q', [{ documentId: 'd', title: 'T', text, score: 1 }], { maxPassageChars: 50 });
  assert.doesNotMatch(built.user, lone);
  const clipped = parsePrompt(built.user).passages[0]?.text ?? '';
  assert.equal(clipped, `x${'😀'.repeat(48)}…`);
});

test('a job error text is bounded in code points and well-formed', () => {
  const text = errorText(new Error(`x${'😀'.repeat(3000)}`));
  assert.equal(codePointLength(text), 2000);
  assert.doesNotMatch(text, lone);
  assert.equal(errorText(new Error('bad \ud83d half')), 'bad \ufffd half');
});
