// One simulated LLM for a test file's LLM-client tests: started before them, healthy with fresh stats before
// each, and closed after them together with every client the tests tracked.
import assert from 'node:assert/strict';
import { after, before, beforeEach } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LlmClient, Passage } from '../../src/adapters/llm/index.js';
import { type SimServer, startSim } from '../../src/sim/server.js';

export interface SimFixture {
  /** The running sim (read it inside tests, after `before` ran). */
  readonly sim: SimServer;
  /** Registers a client to be closed after the file's tests; returns it. */
  track<T extends LlmClient>(client: T): T;
}

export function useSimForClients(): SimFixture {
  let sim: SimServer | undefined;
  const clients: LlmClient[] = [];
  before(async () => {
    sim = await startSim();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close?.()));
    await sim?.close();
  });
  beforeEach(() => {
    sim?.setMode({ mode: 'healthy' });
    sim?.resetStats();
  });
  return {
    get sim() {
      assert.ok(sim, 'the sim starts in before()');
      return sim;
    },
    track(client) {
      clients.push(client);
      return client;
    },
  };
}

/** Polls `check` every 10 ms until it holds; fails the test after about 10 s. */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** The question and the one passage the LLM-client tests ask with (the sim answers from the passages). */
export const SAMPLE_QUESTION = 'What did the father do when the son returned?';
export const SAMPLE_PASSAGE: Passage = {
  documentId: 'd1',
  title: 'The Prodigal Son',
  text: 'A son left home and spent everything. His father ran to meet him when he returned.',
  score: 3,
};
