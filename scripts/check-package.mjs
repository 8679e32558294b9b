// The package check: packs packages/tripswitch from the working tree the way `npm publish` would, installs
// the tarball into throw-away consumer projects and proves what a user gets (DESIGN.md 1, Node paragraph):
//   - the exports map points consumers only at dist/ (our monorepo condition `tripswitch-source` aside) and
//     every subpath in it loads with `import` and with `require()` (require(esm), Node >= 20.19), also under
//     `--conditions=development` (a condition bundlers and tools set);
//   - the declarations compile for a strict consumer (module nodenext and bundler resolution,
//     exactOptionalPropertyTypes, skipLibCheck false, customConditions ["development"]), and `protect`/`execute`
//     keep their types;
//   - the tarball holds nothing outside dist/, src/ (what the declaration maps point at), README, LICENSE,
//     CHANGELOG and package.json; publint and @arethetypeswrong/cli find nothing.
// Subpaths come from the exports map, so a new entry (e.g. ./otel) is checked without touching this file.
//
//   - a bundler (esbuild, also with the `development` condition) takes only dist/ modules;
// Usage: node scripts/check-package.mjs [--node <path-to-node>]... [--runtime-only]
//   --node: run the runtime checks with these binaries (default: the node running this script);
//   --runtime-only: skip what does not depend on the Node version (publint, attw, TypeScript consumers).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PKG_DIR = join(ROOT, 'packages', 'tripswitch');
const SOURCE_CONDITION = 'tripswitch-source';
const requireRoot = createRequire(join(ROOT, 'package.json'));

const nodes = [];
let runtimeOnly = false;
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--node' && process.argv[i + 1]) nodes.push(process.argv[++i]);
  else if (process.argv[i] === '--runtime-only') runtimeOnly = true;
  else throw new Error(`check-package: unknown argument ${process.argv[i]}`);
}
if (nodes.length === 0) nodes.push(process.execPath);

const failures = [];
function check(ok, what) {
  if (ok) console.log(`  ok   ${what}`);
  else {
    console.log(`  FAIL ${what}`);
    failures.push(what);
  }
}
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...opts });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}
/** A devDependency's CLI, run with the node running this script. */
const bin = (name) => join(ROOT, 'node_modules', '.bin', name);
/** The version the monorepo installed (read directly: not every package exports its package.json). */
function installedVersion(name) {
  return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
}

// 1. The exports map.
const manifest = JSON.parse(readFileSync(join(PKG_DIR, 'package.json'), 'utf8'));
const subpaths = Object.keys(manifest.exports).filter((s) => s !== './package.json');
const specifiers = subpaths.map((s) => (s === '.' ? manifest.name : `${manifest.name}/${s.slice(2)}`));
console.log(`check-package: ${manifest.name}@${manifest.version}, subpaths ${subpaths.join(' ')}`);
for (const sub of subpaths) {
  const entry = manifest.exports[sub];
  const conditions = Object.keys(entry);
  check(
    conditions.every((c) => ['types', 'default', SOURCE_CONDITION].includes(c)),
    `exports["${sub}"] uses only types/default/${SOURCE_CONDITION} (has ${conditions.join(', ')})`,
  );
  check(
    Object.entries(entry).every(([c, target]) => c === SOURCE_CONDITION || target.startsWith('./dist/')),
    `exports["${sub}"] points consumers only at ./dist/`,
  );
  check(conditions.at(-1) === 'default', `exports["${sub}"] ends with "default"`);
}

// 2. Pack from the working tree (prepack builds dist/).
const work = mkdtempSync(join(tmpdir(), 'tripswitch-pkg-'));
try {
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: PKG_DIR,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  )[0];
  const tarball = join(work, packed.filename);
  const files = packed.files.map((f) => f.path);
  console.log(`packed ${packed.filename}: ${files.length} files, ${(packed.size / 1024).toFixed(1)} kB`);
  const allowed = (f) =>
    ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(f) ||
    f.startsWith('dist/') ||
    (f.startsWith('src/') && f.endsWith('.ts') && !f.includes('.test.'));
  const stray = files.filter((f) => !allowed(f));
  check(
    stray.length === 0,
    `tarball holds only dist/, src/, README, LICENSE, CHANGELOG, package.json${stray.length ? `: ${stray.join(', ')}` : ''}`,
  );
  for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md']) check(files.includes(f), `tarball has ${f}`);
  const targets = subpaths.flatMap((s) =>
    Object.entries(manifest.exports[s])
      .filter(([c]) => c !== SOURCE_CONDITION)
      .map(([, t]) => t.slice(2)),
  );
  const missing = targets.filter((t) => !files.includes(t));
  check(
    missing.length === 0,
    `every exports target is in the tarball${missing.length ? `: missing ${missing.join(', ')}` : ''}`,
  );
  const maps = files.filter((f) => f.endsWith('.d.ts'));
  check(
    maps.length > 0 && maps.every((f) => files.includes(`${f}.map`)),
    'every .d.ts ships with its declaration map',
  );
  check(
    readFileSync(join(PKG_DIR, 'LICENSE'), 'utf8') === readFileSync(join(ROOT, 'LICENSE'), 'utf8'),
    'packages/tripswitch/LICENSE is the repository LICENSE',
  );

  // 3. publint and arethetypeswrong on the tarball itself.
  if (!runtimeOnly) {
    const publint = run(process.execPath, [bin('publint'), 'run', tarball, '--strict']);
    check(publint.ok, `publint --strict${publint.ok ? '' : `\n${publint.out}`}`);
    // ESM-only by design: CommonJS users load it through require(esm) (Node >= 20.19), which attw's
    // node16-cjs resolution mode does not model; the esm-only profile checks every other mode.
    const attw = run(process.execPath, [
      bin('attw'),
      tarball,
      '--profile',
      'esm-only',
      '--format',
      'table-flipped',
    ]);
    check(attw.ok, `@arethetypeswrong/cli --profile esm-only${attw.ok ? '' : `\n${attw.out}`}`);
  }

  // 4. A consumer installation: the tarball plus the optional peers (so every subpath can load) and the
  //    Node types a TypeScript user has. Versions are the monorepo's, so npm serves them from its cache.
  const consumer = join(work, 'consumer');
  mkdirSync(consumer);
  const deps = { [manifest.name]: `file:${tarball}` };
  for (const peer of Object.keys(manifest.peerDependencies ?? {})) deps[peer] = installedVersion(peer);
  deps['@types/node'] = installedVersion('@types/node');
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ private: true, dependencies: deps }, null, 2),
  );
  const install = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], {
    cwd: consumer,
  });
  check(
    install.ok,
    `npm install of the tarball into a consumer project${install.ok ? '' : `\n${install.out}`}`,
  );

  // Runtime: every subpath through import and require, and what the main entry must do.
  const behaviour = (load) => `
const subs = ${JSON.stringify(specifiers)};
const mods = [];
for (const s of subs) {
  const m = ${load};
  if (Object.keys(m).length === 0) throw new Error(s + ' exports nothing');
  mods.push(m);
}
const { CircuitBreaker, CircuitOpenError } = mods[0];
const b = new CircuitBreaker({ name: 'pkg-check', failMax: 1 });
const ok = await b.execute(async ({ signal }) => (signal ? 42 : 0));
if (ok !== 42) throw new Error('execute returned ' + ok);
await b.execute(async () => { throw new Error('boom'); }).catch(() => {});
const rejected = await b.execute(async () => 1).then(() => null, (e) => e);
if (!(rejected instanceof CircuitOpenError) || !(rejected instanceof Error)) throw new Error('no CircuitOpenError');
console.log('loaded ' + subs.length + ' subpaths');
`;
  mkdirSync(join(consumer, 'esm'));
  writeFileSync(join(consumer, 'esm', 'package.json'), '{ "type": "module" }');
  writeFileSync(join(consumer, 'esm', 'check.js'), behaviour('await import(s)'));
  mkdirSync(join(consumer, 'cjs'));
  writeFileSync(join(consumer, 'cjs', 'package.json'), '{ "type": "commonjs" }');
  writeFileSync(
    join(consumer, 'cjs', 'check.js'),
    `(async () => {${behaviour('require(s)')}})().catch((e) => { console.error(e); process.exit(1); });`,
  );
  for (const node of nodes) {
    const version = run(node, ['--version']).out.trim();
    for (const [label, args] of [
      ['import', ['esm/check.js']],
      ['require()', ['cjs/check.js']],
      ['import --conditions=development', ['--conditions=development', 'esm/check.js']],
      ['require() --conditions=development', ['--conditions=development', 'cjs/check.js']],
    ]) {
      const r = run(node, ['--no-warnings', ...args], { cwd: consumer });
      check(r.ok, `Node ${version}: ${label} of every subpath${r.ok ? '' : `\n${r.out}`}`);
    }
  }

  // Bundlers: a development build (webpack and Vite set the `development` condition) must get dist/ too.
  if (!runtimeOnly) {
    const esbuild = await import(requireRoot.resolve('esbuild'));
    for (const conditions of [[], ['development']]) {
      const built = await esbuild
        .build({
          stdin: {
            contents: specifiers.map((s, i) => `export * as m${i} from '${s}';`).join('\n'),
            resolveDir: consumer,
          },
          absWorkingDir: consumer,
          bundle: true,
          write: false,
          metafile: true,
          format: 'esm',
          platform: 'node',
          conditions,
          external: Object.keys(manifest.peerDependencies ?? {}),
          logLevel: 'silent',
        })
        .catch((err) => ({ error: err }));
      const inputs = built.error ? [] : Object.keys(built.metafile.inputs).filter((f) => f !== '<stdin>');
      const outside = inputs.filter((f) => !f.startsWith(`node_modules/${manifest.name}/dist/`));
      check(
        !built.error && inputs.length > 0 && outside.length === 0,
        `esbuild bundle of every subpath with conditions [${conditions}] takes only dist/ modules${built.error ? `\n${built.error.message}` : outside.length ? `: ${outside.slice(0, 5).join(', ')}` : ''}`,
      );
    }
  }

  // Types: a strict consumer under each resolution mode.
  if (!runtimeOnly) {
    // No top-level await, so the same file also compiles as CommonJS.
    const typeTest = `${specifiers.map((s, i) => `import * as sub${i} from '${s}';`).join('\n')}
import { CircuitBreaker, CircuitOpenError, type ExecuteResult } from '${manifest.name}';
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function expectType<T extends true>(_proof?: T): void {}
export const loaded = [${specifiers.map((_, i) => `sub${i}`).join(', ')}];
const breaker = new CircuitBreaker({ name: 'strict', failMax: 3, timeout: 1_000 });
const ask = breaker.protect(async (question: string, limit?: number): Promise<{ text: string; limit: number }> => ({
  text: question,
  limit: limit ?? 0,
}));
expectType<Equal<typeof ask, (question: string, limit?: number) => Promise<{ text: string; limit: number }>>>();
// @ts-expect-error protect keeps the parameter types
void ask(42);
const viaSync = breaker.protect((n: number) => n * 2);
expectType<Equal<typeof viaSync, (n: number) => Promise<number>>>();
const value = breaker.execute(async ({ signal, attempt }) => (signal.aborted ? attempt : 'text'));
expectType<Equal<typeof value, Promise<number | 'text'>>>();
export async function tryIt(): Promise<bigint> {
  const outcome = await breaker.tryExecute(async () => 1n);
  expectType<Equal<typeof outcome, ExecuteResult<bigint>>>();
  return outcome.ok ? outcome.value : 0n;
}
export const isOpen = (e: unknown): boolean => e instanceof CircuitOpenError && e.retryAfter >= 0;
// @ts-expect-error the breaker's internal members (tagged internal, stripInternal) are not published
void breaker._code;
// @ts-expect-error the class stays nominal: an object with its public members is not a CircuitBreaker
export const lookAlike: CircuitBreaker = {} as Pick<CircuitBreaker, keyof CircuitBreaker>;
`;
    const strict = {
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      noEmit: true,
      target: 'ES2022',
      lib: ['ES2023'],
      types: ['node'],
    };
    const projects = {
      'ts-nodenext': { module: 'nodenext', moduleResolution: 'nodenext' },
      'ts-bundler': { module: 'preserve', moduleResolution: 'bundler' },
      'ts-development-condition': {
        module: 'esnext',
        moduleResolution: 'bundler',
        customConditions: ['development'],
      },
    };
    // A CommonJS TypeScript project: its imports compile to require(), which module nodenext (TS >= 5.8)
    // allows for an ES module on Node >= 20.19.
    const tsc = bin('tsc');
    for (const [name, options] of Object.entries({
      ...projects,
      'ts-nodenext-commonjs': projects['ts-nodenext'],
    })) {
      const dir = join(consumer, name);
      const commonjs = name.endsWith('commonjs');
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), `{ "type": "${commonjs ? 'commonjs' : 'module'}" }`);
      writeFileSync(join(dir, 'index.ts'), typeTest);
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { ...strict, ...options }, files: ['index.ts'] }),
      );
      const r = run(process.execPath, [tsc, '-p', dir]);
      check(
        r.ok,
        `strict TypeScript consumer (${name}: ${JSON.stringify(options)})${r.ok ? '' : `\n${r.out}`}`,
      );
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`check-package: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('check-package: all checks passed');
