/**
 * One process of the fleet simulation: `instances` service instances, each with its own RedisStore
 * (own connections) and its own registry of `breakers` keyed breakers (`model:k0` … `model:k<n-1>`).
 * Driven by the parent over IPC (see fleet.ts); reports when a watched breaker opens.
 */
import { BreakerRegistry, type CircuitBreaker } from 'tripswitch';
import { RedisStore } from 'tripswitch/redis';
import type { FromWorker, ToWorker, WorkerConfig } from './protocol.js';

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const send = (message: FromWorker) => process.send!(message);
const now = () => performance.timeOrigin + performance.now();

interface Instance {
  readonly store: RedisStore;
  readonly breakers: CircuitBreaker[];
}

const watched = new Set<string>();
const instances: Instance[] = [];
// One instance after the other, each fully attached (first reads done) before the next: a service fleet
// does not start all at once either, and a 2-core machine must not mistake its own backlog for an outage.
for (let i = 0; i < config.instances; i++) {
  const store = new RedisStore({
    url: config.url,
    prefix: config.prefix,
    logger: false,
    refreshInterval: config.refreshInterval,
    commandTimeout: 5_000, // a loaded 2-core machine is not an outage
  });
  const registry = new BreakerRegistry({
    maxKeyed: config.breakers,
    defaults: { store, failMax: 5, openDuration: config.openDuration },
  });
  const breakers: CircuitBreaker[] = [];
  for (let k = 0; k < config.breakers; k++) {
    const breaker = registry.keyed('model', `k${k}`);
    breaker.on('stateChange', (_from, to) => {
      if (to === 'open' && watched.has(breaker.name)) {
        send({ type: 'seen', name: breaker.name, instance: config.firstInstance + i, at: now() });
      }
    });
    breakers.push(breaker);
  }
  instances.push({ store, breakers });
  for (let attempt = 0; ; attempt++) {
    try {
      await store.refresh();
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}
send({ type: 'ready', rss: process.memoryUsage().rss });

let storm: ReturnType<typeof setInterval> | undefined;
const fail = () => Promise.reject(new Error('provider down'));

process.on('message', async (message: ToWorker) => {
  switch (message.cmd) {
    case 'watch':
      watched.clear();
      for (const name of message.names) watched.add(name);
      break;
    case 'trip': {
      const breaker = instances[0]!.breakers[message.index]!;
      const t0 = now();
      breaker.open();
      send({ type: 'tripped', name: breaker.name, at: t0 });
      break;
    }
    case 'close':
      for (const index of message.indexes) instances[0]!.breakers[index]!.close();
      break;
    case 'open-all':
      for (const breaker of instances[0]!.breakers) breaker.open();
      break;
    case 'close-all':
      for (const breaker of instances[0]!.breakers) breaker.close();
      break;
    case 'storm-start':
      // Every instance calls a failing provider through `count` breakers, `rate` calls per breaker per second.
      storm = setInterval(() => {
        for (const x of instances) {
          for (let k = 0; k < message.count; k++) x.breakers[k]!.execute(fail).catch(() => {});
        }
      }, 1000 / message.rate);
      break;
    case 'storm-stop':
      clearInterval(storm);
      break;
    case 'stats': {
      const s = instances.map((x) => x.store.stats());
      send({
        type: 'stats',
        degraded: s.filter((x) => x.status === 'degraded').length,
        gaps: s.reduce((n, x) => n + x.gaps, 0),
        messages: s.reduce((n, x) => n + x.messages, 0),
      });
      break;
    }
    case 'exit':
      await Promise.all(instances.map((x) => x.store.close()));
      send({ type: 'closed' });
      process.disconnect();
      break;
  }
});
