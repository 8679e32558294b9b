import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { formatBytes, formatRatio } from '../lib/format.js';
import type { ResultRow, Suite } from '../lib/suite.js';

const SECTION = 'Bundle size, minified + gzipped';
const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What an application bundles to get one breaker from each library: the import its README starts with. */
const ENTRIES = [
  {
    id: 'tripswitch',
    label: "tripswitch `import { CircuitBreaker } from 'tripswitch'`",
    code: "export { CircuitBreaker } from 'tripswitch';",
  },
  {
    id: 'cockatiel',
    label: "cockatiel `import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel'`",
    code: "export { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';",
  },
  {
    id: 'opossum',
    label: "opossum `import CircuitBreaker from 'opossum'`",
    code: "export { default } from 'opossum';",
  },
] as const;

export interface BundleSize {
  readonly minified: number;
  readonly gzipped: number;
  /** Input files that ended up in the bundle, with their share of the minified output (bytes). */
  readonly inputs: Readonly<Record<string, number>>;
}

/**
 * Bundles `code` the way an application bundler does for production (esbuild: ESM, minified, tree-shaken,
 * Node built-ins external) and gzips it at level 9. tripswitch resolves to its built `dist/` (what npm
 * users get), so `npm run build` must have run.
 */
export async function bundleSize(code: string): Promise<BundleSize> {
  const out = await build({
    stdin: { contents: code, resolveDir: BENCH_DIR, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]!.contents;
  const output = Object.values(out.metafile.outputs)[0]!;
  const inputs: Record<string, number> = {};
  for (const [file, info] of Object.entries(output.inputs)) inputs[file] = info.bytesInOutput;
  return { minified: js.byteLength, gzipped: gzipSync(js, { level: 9 }).byteLength, inputs };
}

export const bundleSuite: Suite = {
  id: 'bundle',
  title: SECTION,
  async run(ctx) {
    const sizes = [];
    for (const entry of ENTRIES) {
      ctx.log(`  esbuild ${entry.id}`);
      const size = await bundleSize(entry.code).catch((err: Error) => {
        throw new Error(
          `bundle suite: esbuild failed for ${entry.id} (has \`npm run build\` run?): ${err.message}`,
        );
      });
      sizes.push({ ...entry, ...size });
    }
    const cockatiel = sizes.find((s) => s.id === 'cockatiel')!;
    const rows: ResultRow[] = sizes.map((s) => ({
      section: SECTION,
      case: s.label,
      result: `${formatBytes(s.gzipped)} gzipped (${formatBytes(s.minified)} minified, ${Object.keys(s.inputs).length} modules)`,
      ratio: `${formatRatio(s.gzipped / cockatiel.gzipped)} cockatiel`,
      data: {
        id: s.id,
        gzippedBytes: s.gzipped,
        minifiedBytes: s.minified,
        ratioToCockatiel: s.gzipped / cockatiel.gzipped,
      },
    }));
    return {
      rows,
      bars: [],
      notes: [
        'Bundle size: esbuild (ESM, minify, tree-shaking, Node built-ins external) of the one import each row names, ' +
          'gzip level 9; tripswitch from its published `dist/`. Every library is whole-package ESM with ' +
          '`sideEffects: false` or none, so the numbers are what an application pays for a breaker.',
      ],
    };
  },
};
