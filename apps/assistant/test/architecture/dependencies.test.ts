// The dependency arrows point one way: the domain (and the HTTP layer over it) owns its ports and never
// imports an adapter; adapters never import the composition root. Read from the sources themselves.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The project files a source file imports (relative specifiers, resolved, `.js` → `.ts`). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/\bfrom\s+'(\.{1,2}\/[^']+)'/g)) {
    out.push(relative(SRC, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
  }
  return out;
}

test('domain/, routes/ and server.ts import nothing from adapters/', () => {
  const offenders: string[] = [];
  for (const file of [...files(join(SRC, 'domain')), ...files(join(SRC, 'routes')), join(SRC, 'server.ts')]) {
    for (const target of imports(file)) {
      if (target.startsWith('adapters/')) offenders.push(`${relative(SRC, file)} → ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('no adapter imports the composition root (app.ts)', () => {
  const offenders = files(join(SRC, 'adapters')).filter((f) => imports(f).includes('app.ts'));
  assert.deepEqual(
    offenders.map((f) => relative(SRC, f)),
    [],
  );
});
