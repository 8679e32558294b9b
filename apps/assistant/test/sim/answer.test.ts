// The sim's deterministic answer composer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composeAnswer, keywords, NO_CONTEXT_ANSWER } from '../../src/sim/answer.js';

const passages = [
  { index: 1, title: 'Sabbath Rest', text: 'Rest is holy. The sabbath was made for people. Work can wait.' },
  {
    index: 2,
    title: 'Prayer',
    text: 'Prayers are answered in silence. The sabbath is for prayer and rest too.',
  },
];

test('quotes the best-matching sentences in document order, citing titles and indexes', () => {
  const answer = composeAnswer('Why is the sabbath made for rest and prayer?', passages);
  assert.equal(
    answer,
    'Based on “Sabbath Rest” [1]: Rest is holy. The sabbath was made for people. ' +
      'Also, according to “Prayer” [2]: The sabbath is for prayer and rest too.',
  );
});

test('is deterministic', () => {
  const q = 'what about prayers?';
  assert.equal(composeAnswer(q, passages), composeAnswer(q, passages));
  assert.match(composeAnswer(q, passages), /^Based on “Prayer” \[2\]: Prayers are answered in silence\./);
});

test('no passages gives the polite fixed answer; no overlap points at the closest passage', () => {
  assert.equal(composeAnswer('anything', []), NO_CONTEXT_ANSWER);
  const answer = composeAnswer('quantum chromodynamics', passages);
  assert.match(answer, /don't seem to address this directly/);
  assert.match(answer, /“Sabbath Rest” \[1\], says: Rest is holy\.$/);
});

test('keywords drop stopwords and short words and fold plurals', () => {
  assert.deepEqual([...keywords('What are the prayers of it?')], ['prayer']);
});
