// The shipped monitoring files (deploy/prometheus, deploy/grafana) as data, the PromQL metric selectors in
// them, and a private Prometheus server (Debian's `prometheus` package) on a free loopback port.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { freePort } from '../../../../packages/tripswitch/test/helpers/redis-server.js';

export const DEPLOY_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'deploy');
export const PROMETHEUS_DIR = join(DEPLOY_DIR, 'prometheus');
export const DASHBOARD_PATH = join(DEPLOY_DIR, 'grafana', 'assistant.json');

// --- Tools -------------------------------------------------------------------------------------------

function runs(command: string): boolean {
  const probe = spawnSync(command, ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/**
 * The `skip` value for a suite that needs `prometheus` and `promtool`: false when both run; otherwise a
 * reason (after a loud notice). Under CI=true their absence throws: `.ci/run` installs them.
 */
export function skipWithoutPrometheus(): false | string {
  const missing = ['prometheus', 'promtool'].filter((tool) => !runs(tool));
  if (missing.length === 0) return false;
  const reason = `${missing.join(' and ')} not on PATH (Debian package "prometheus"): monitoring tests NOT RUN`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true requires it)`);
  console.error(`\n${'!'.repeat(78)}\n!!! ${reason}\n${'!'.repeat(78)}\n`);
  return reason;
}

export interface ToolResult {
  status: number | null;
  output: string;
}

/** Runs `promtool` with `args` in `cwd`; stdout and stderr together. */
export function promtool(args: string[], cwd = PROMETHEUS_DIR): ToolResult {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

// --- Rule files --------------------------------------------------------------------------------------

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleFile {
  groups: Array<{ name: string; interval?: string; rules: Rule[] }>;
}

export function readRuleFile(name: 'alerts.yml' | 'recording.yml'): RuleFile {
  return parse(readFileSync(join(PROMETHEUS_DIR, name), 'utf8')) as RuleFile;
}

export function rulesOf(file: RuleFile): Rule[] {
  return file.groups.flatMap((group) => group.rules);
}

/** A copy of a rule file with each rule changed by `edit` (rules are plain data). */
export function editRules(file: RuleFile, edit: (rule: Rule) => Rule): RuleFile {
  return { groups: file.groups.map((group) => ({ ...group, rules: group.rules.map(edit) })) };
}

// --- Grafana dashboard -------------------------------------------------------------------------------

export interface DashboardTarget {
  refId: string;
  expr: string;
  legendFormat?: string;
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

export interface DashboardVariable {
  name: string;
  type: string;
  query: string | { query: string };
  allValue?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: DashboardVariable[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
}

/** Every panel, including those nested in collapsed rows. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/**
 * A dashboard expression as Prometheus would receive it: Grafana's variables replaced the way Grafana
 * does for "All" (`.*` in a regex matcher) and `$__rate_interval` by `window`.
 */
export function resolveGrafanaVariables(expr: string, values: Record<string, string>, window = '1m'): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => {
    if (name === '__rate_interval' || name === '__interval') return window;
    const value = values[name];
    if (value === undefined)
      throw new Error(`dashboard expression uses undefined variable ${whole}: ${expr}`);
    return value;
  });
}

// --- PromQL ------------------------------------------------------------------------------------------

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
// Aggregations may put `by (...)` between their name and their arguments.
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);

function skipQuoted(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Index just past the bracket that closes the one at `start` (`{`, `(`, `[`), skipping quoted strings. */
function skipBracketed(text: string, start: number): number {
  const open = text[start]!;
  const close = ({ '{': '}', '(': ')', '[': ']' } as Record<string, string>)[open]!;
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipQuoted(text, i);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
    i++;
  }
  throw new Error(`unbalanced ${open} in PromQL: ${text}`);
}

/**
 * The instant-vector selectors of a PromQL expression, as text (`name{matchers}`), in order of
 * appearance: identifiers that are not functions, aggregations, keywords, or labels in a `by (...)`-like
 * list. Enough of PromQL for the rule and dashboard expressions; not a full parser.
 */
export function metricSelectors(expr: string): string[] {
  const selectors: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < expr.length && /\s/.test(expr[i]!)) i++;
  };
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipQuoted(expr, i);
    } else if (c === '[') {
      i = skipBracketed(expr, i); // range or subquery duration
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++; // comment
    } else if (/[0-9.]/.test(c)) {
      while (i < expr.length && /[0-9.eE_a-zA-Z]/.test(expr[i]!)) i++; // number or duration
    } else if (/[a-zA-Z_:]/.test(c)) {
      const start = i;
      while (i < expr.length && /[a-zA-Z0-9_:]/.test(expr[i]!)) i++;
      const word = expr.slice(start, i);
      skipSpace();
      const next = expr[i];
      if (LABEL_LIST_KEYWORDS.has(word.toLowerCase())) {
        if (next === '(') i = skipBracketed(expr, i);
      } else if (KEYWORDS.has(word.toLowerCase()) || AGGREGATIONS.has(word.toLowerCase()) || next === '(') {
        // keyword, or a function / aggregation call: its arguments are scanned next
      } else if (next === '{') {
        const end = skipBracketed(expr, i);
        selectors.push(`${word}${expr.slice(i, end)}`);
        i = end;
      } else {
        selectors.push(word);
      }
    } else if (c === '{') {
      const end = skipBracketed(expr, i);
      selectors.push(expr.slice(i, end));
      i = end;
    } else {
      i++;
    }
  }
  return selectors;
}

/** The metric name of a selector (`name{...}` → `name`). */
export function selectorMetric(selector: string): string {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(selector)?.[0] ?? '';
}

// --- A private Prometheus ----------------------------------------------------------------------------

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface PromRule {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  state?: 'inactive' | 'pending' | 'firing';
}

export interface PrometheusServer {
  url: string;
  dir: string;
  /** Instant query; throws with Prometheus's error text when the query fails. */
  query(expr: string): Promise<PromSample[]>;
  alerts(): Promise<PromAlert[]>;
  rules(): Promise<PromRule[]>;
  output(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** `host:port` targets of the example config's `assistant` scrape job. */
  targets: string[];
  /** Rule files to write into the server's directory and load, by file name. */
  ruleFiles: Record<string, RuleFile>;
  /** Scrape and rule evaluation interval. */
  interval?: string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.errorType}: ${body.error}`);
  return body.data;
}

function launch(dir: string, port: number): { child: ChildProcess; output: () => string } {
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  const collect = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, output: () => out };
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return true;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return false;
}

/**
 * Starts Prometheus on a free 127.0.0.1 port with its own temp data directory and the shipped example
 * config (deploy/prometheus/prometheus.yml), scraping `targets` every `interval` and evaluating the given
 * rule files as often. Retries on a lost port race.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'assistant-prometheus-'));
  const interval = options.interval ?? '1s';
  for (const [name, file] of Object.entries(options.ruleFiles)) {
    writeFileSync(join(dir, name), JSON.stringify(file, null, 2)); // JSON is YAML
  }
  // The shipped example config, with test intervals, these targets and these rule files.
  const example = parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };
  const job = example.scrape_configs.find((c) => c.job_name === 'assistant');
  if (!job) throw new Error('deploy/prometheus/prometheus.yml has no scrape job "assistant"');
  const config = {
    ...example,
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: Object.keys(options.ruleFiles),
    scrape_configs: [{ ...job, static_configs: [{ targets: options.targets }] }],
  };
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { child, output } = launch(dir, port);
    if (await waitReady(url, child, 60_000)) {
      let stopped = false;
      return {
        url,
        dir,
        output,
        async query(expr) {
          const data = await api<{ result: PromSample[] }>(
            `${url}/api/v1/query?query=${encodeURIComponent(expr)}`,
          );
          return data.result;
        },
        async alerts() {
          return (await api<{ alerts: PromAlert[] }>(`${url}/api/v1/alerts`)).alerts;
        },
        async rules() {
          const data = await api<{ groups: Array<{ rules: PromRule[] }> }>(`${url}/api/v1/rules`);
          return data.groups.flatMap((group) => group.rules);
        },
        async stop() {
          if (stopped) return;
          stopped = true;
          if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(timer);
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 3 || !/address already in use/i.test(output())) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`prometheus did not become ready on ${url}:\n${output()}`);
    }
  }
}
