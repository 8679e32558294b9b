/**
 * Every micro-benchmark suite, in run order. To add one: export a `Suite`
 * (see ../lib/suite.ts) from a file in this folder and append it here; `main.ts` needs no change.
 */
import type { Suite } from '../lib/suite.js';
import { bundleSuite } from './bundle.js';
import { coalesceSuite } from './coalesce.js';
import { fleetSuite } from './fleet.js';
import { memorySuite } from './memory.js';
import { pipelineSuite } from './pipeline.js';
import { redisSuite } from './redis.js';
import { rejectionSuite } from './rejection.js';
import { searchSuite } from './search.js';
import { soakSuite } from './soak.js';
import { successSuite } from './success.js';

export const suites: Suite[] = [
  successSuite,
  rejectionSuite,
  memorySuite,
  soakSuite,
  pipelineSuite,
  coalesceSuite,
  redisSuite,
  bundleSuite,
  fleetSuite,
  searchSuite,
];
