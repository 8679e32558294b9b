// Module resolution hooks for register.mjs (see there).
import { appendFileSync } from 'node:fs';

let file;
const WATCHED = /\/@opentelemetry\/|\/tripswitch\/(?:src|dist)\/otel\/|\/adapters\/telemetry\//;

export async function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (file && WATCHED.test(resolved.url)) appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
