import { compare } from '../lib/compare.js';
import { FloorBreaker } from '../micro/floor.js';
import { DeadlineQueue } from '../../packages/tripswitch/src/core/deadlines.js';
import { runWithDeadline } from '../../packages/tripswitch/src/core/timed-call.js';
import { CircuitBreaker } from 'tripswitch';
const okOp = async (): Promise<number> => 1;
const q = new DeadlineQueue(10_000);
const floor = new FloorBreaker();
const ts = new CircuitBreaker({ timeout: 10_000 });
const q2 = new DeadlineQueue(10_000);
let t0: NodeJS.Timeout | undefined;
const t = await compare([
  { id: 'floor', label: 'floor', run: () => floor.execute(okOp) },
  { id: 'ts', label: 'ts', run: () => ts.execute(okOp) },
  { id: 'rwd', label: 'runWithDeadline', run: () => runWithDeadline(q, okOp, undefined) },
  { id: 'np', label: 'newPromise+then', run: () => { const w = okOp(); return new Promise((res, rej) => { w.then((v) => res(v), (e) => rej(e)); }); } },
  { id: 'pn', label: 'perfnow', run: () => { performance.now(); return okOp(); } },
], { rounds: 5, sampleMs: 150, baseline: 'floor' });
for (const x of t) console.log(x.id.padEnd(8), x.ns.toFixed(1), x.ratio.toFixed(2));
process.exit(0);
