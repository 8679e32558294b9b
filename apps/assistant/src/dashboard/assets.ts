import { readFileSync } from 'node:fs';

/** A static file of the page, read once at start-up (they are small and never change at run time). */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
};

export const ASSET_FILES = ['index.html', 'dashboard.css', 'dashboard.js'] as const;
export type AssetFile = (typeof ASSET_FILES)[number];

export function loadAssets(): Record<AssetFile, Asset> {
  const out = {} as Record<AssetFile, Asset>;
  for (const file of ASSET_FILES) {
    const ext = file.slice(file.lastIndexOf('.') + 1);
    out[file] = {
      body: readFileSync(new URL(`./assets/${file}`, import.meta.url)),
      type: TYPES[ext] ?? 'application/octet-stream',
    };
  }
  return out;
}

/**
 * Everything the page loads comes from this server: no inline script or style, no third party. The SSE
 * stream and the action calls are same-origin `connect-src`.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
