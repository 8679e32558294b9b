// The OpenTelemetry packages the service ships (and the library tests against) must accept the oldest Node we
// support (the root package.json's engines, `>=20.19`), and there must be one @opentelemetry/api in the tree: two
// copies keep separate global registries, and the SDK packages accept only a narrow api range. Walks the
// installed tree from apps/assistant and packages/tripswitch the way Node resolves packages (node_modules up
// the directory chain), following every @opentelemetry dependency.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface Manifest {
  name: string;
  version: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The directory Node would load `name` from when required from `fromDir`, or undefined. */
function packageDir(fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`unsupported version syntax: ${text}`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * Whether `version` satisfies an npm range built from `||`, space-separated comparators (`>=`, `>`, `<=`, `<`,
 * `=`), `^x.y.z` and exact versions — the syntax these packages use; anything else throws, so an unreadable
 * range fails the test rather than passing it.
 */
function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .split(/\s+/)
      .every((comparator) => {
        const m = /^(>=|<=|>|<|=|\^)?(.+)$/.exec(comparator);
        if (!m) throw new Error(`unsupported range: ${range}`);
        const bound = parseVersion(m[2] as string);
        const c = compare(v, bound);
        switch (m[1]) {
          case '>=':
            return c >= 0;
          case '>':
            return c > 0;
          case '<=':
            return c <= 0;
          case '<':
            return c < 0;
          case '^': {
            if (c < 0) return false;
            const [major, minor] = bound;
            if (major > 0) return v[0] === major;
            if (minor > 0) return v[0] === 0 && v[1] === minor;
            return compare(v, bound) === 0;
          }
          default:
            return c === 0;
        }
      }),
  );
}

/** Every installed @opentelemetry package reachable from the two workspaces, by directory. */
function otelPackages(): Map<string, Manifest> {
  const found = new Map<string, Manifest>();
  const queue: Array<{ dir: string; deps: string[] }> = [];
  for (const workspace of ['apps/assistant', 'packages/tripswitch']) {
    const dir = join(ROOT, workspace);
    const m = manifest(dir);
    queue.push({ dir, deps: Object.keys({ ...m.dependencies, ...m.devDependencies }) });
  }
  while (queue.length > 0) {
    const { dir, deps } = queue.shift() as { dir: string; deps: string[] };
    for (const name of deps) {
      if (!name.startsWith('@opentelemetry/')) continue;
      const at = packageDir(dir, name);
      assert.ok(at, `${name} (needed by ${dir}) is not installed`);
      if (found.has(at)) continue;
      const m = manifest(at);
      found.set(at, m);
      queue.push({ dir: at, deps: Object.keys({ ...m.dependencies, ...m.peerDependencies }) });
    }
  }
  return found;
}

test('every @opentelemetry package installed for the service and the library accepts our oldest Node', () => {
  const rootRange = manifest(ROOT).engines?.node ?? '';
  assert.ok(rootRange.startsWith('>='), `root package.json engines.node: ${rootRange}`);
  const oldest = rootRange.slice(2);
  const packages = otelPackages();
  assert.ok(packages.size >= 8, `found ${packages.size} @opentelemetry packages`);
  const refused = [...packages.values()]
    .filter((m) => m.engines?.node !== undefined)
    .filter(
      (m) =>
        !satisfies(oldest, m.engines?.node as string) ||
        !satisfies(process.version, m.engines?.node as string),
    )
    .map((m) => `${m.name}@${m.version} (engines.node ${m.engines?.node})`);
  assert.deepEqual(refused, [], `these declare no support for Node ${oldest} or ${process.version}`);
});

test('one @opentelemetry/api in the tree, inside every SDK package peer range', () => {
  const packages = otelPackages();
  const apis = [...packages].filter(([, m]) => m.name === '@opentelemetry/api');
  assert.equal(
    apis.length,
    1,
    `@opentelemetry/api copies: ${apis.map(([dir, m]) => `${m.version} at ${dir}`).join(', ')}`,
  );
  // The lockfile is the whole tree npm ci installs: prom-client depends on @opentelemetry/api too.
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const locked = Object.entries(lock.packages)
    .filter(([path]) => path.endsWith('node_modules/@opentelemetry/api'))
    .map(([path, entry]) => `${entry.version} at ${path}`);
  assert.equal(locked.length, 1, `package-lock.json has @opentelemetry/api ${locked.join(', ')}`);
  const version = (apis[0] as [string, Manifest])[1].version;
  const libraryPeer = manifest(join(ROOT, 'packages/tripswitch')).peerDependencies?.['@opentelemetry/api'];
  assert.ok(libraryPeer && satisfies(version, libraryPeer), `tripswitch peer range ${libraryPeer}`);
  const outside = [...packages.values()]
    .map((m) => ({ m, range: m.peerDependencies?.['@opentelemetry/api'] }))
    .filter(({ range }) => range !== undefined && !satisfies(version, range))
    .map(({ m, range }) => `${m.name}@${m.version} wants ${range}`);
  assert.deepEqual(outside, [], `@opentelemetry/api ${version} is outside these peer ranges`);
});

test('the range check reads the syntax these packages use', () => {
  assert.equal(satisfies('20.19.0', '^18.19.0 || >=20.6.0'), true);
  assert.equal(satisfies('20.5.0', '^18.19.0 || >=20.6.0'), false);
  assert.equal(satisfies('20.19.0', '>=22.15'), false);
  assert.equal(satisfies('1.9.1', '>=1.9.0 <1.10.0'), true);
  assert.equal(satisfies('1.10.0', '>=1.9.0 <1.10.0'), false);
  assert.equal(satisfies('1.10.0', '^1.3.0'), true);
  assert.equal(satisfies('2.0.0', '^1.3.0'), false);
  assert.equal(satisfies('v20.19.0', '>=14'), true);
  assert.throws(() => satisfies('20.19.0', '~20.1'), /unsupported/);
});
