import type { Suite } from '../lib/suite.js';

/**
 * Placeholder for the Redis-mode rows (DESIGN §4): shows the two bars as pending until the real suite
 * exists. Whoever adds that suite replaces this entry in ./suites.ts with it.
 */
export const redisPendingSuite: Suite = {
  id: 'redis',
  title: 'Redis mode',
  async run() {
    return {
      rows: [
        {
          section: 'Redis mode',
          case: 'RedisStore success path vs in-memory; trip propagation p99',
          result: 'pending',
          ratio: '',
          data: { status: 'pending' },
        },
      ],
      bars: [
        {
          bar: 'Redis mode success path ≤ 2× the in-memory breaker',
          measured: 'pending (suite not written yet)',
          met: null,
        },
        {
          bar: 'a trip seen by another instance ≤ 100 ms p99',
          measured: 'pending (suite not written yet)',
          met: null,
        },
      ],
    };
  },
};
