// The shipped Prometheus rules and Grafana dashboard, checked with the real promtool (Debian's
// `prometheus` package): syntax, the unit tests in deploy/prometheus/tests (every alert fires when it
// should and stays silent when it should not), and the conventions the README promises.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  allPanels,
  editRules,
  metricSelectors,
  PROMETHEUS_DIR,
  promtool,
  type RuleFile,
  readDashboard,
  readRuleFile,
  resolveGrafanaVariables,
  rulesOf,
  selectorMetric,
  skipWithoutPrometheus,
} from '../helpers/prometheus.js';

const skip = skipWithoutPrometheus();
// Grafana's reference to the dashboard's datasource variable (not a JavaScript template).
const DATASOURCE_VARIABLE = '$' + '{datasource}';
const TEST_FILE = join(PROMETHEUS_DIR, 'tests', 'rules.test.yml');

interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts: Array<{ exp_labels: Record<string, string> }>;
}
interface UnitTests {
  rule_files: string[];
  tests: Array<{ name: string; alert_rule_test?: AlertRuleTest[] }>;
}

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs deploy/prometheus/tests/rules.test.yml against `alerts` (default: the shipped alerts.yml) with
 * annotations removed: promtool compares annotations verbatim, and they do not decide when an alert fires.
 */
function runUnitTests(alerts: RuleFile = readRuleFile('alerts.yml')) {
  const dir = mkdtempSync(join(tmpdir(), 'assistant-promtool-'));
  tempDirs.push(dir);
  const bare = editRules(alerts, ({ annotations: _dropped, ...rule }) => rule);
  writeFileSync(join(dir, 'alerts.yml'), JSON.stringify(bare, null, 2));
  copyFileSync(join(PROMETHEUS_DIR, 'recording.yml'), join(dir, 'recording.yml'));
  copyFileSync(TEST_FILE, join(dir, 'rules.test.yml'));
  return promtool(['test', 'rules', 'rules.test.yml'], dir);
}

describe('Prometheus rules (promtool)', { skip }, () => {
  test('promtool check rules accepts alerts.yml and recording.yml, templates included', () => {
    const result = promtool(['check', 'rules', 'recording.yml', 'alerts.yml']);
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /alerts\.yml[\s\S]*SUCCESS: \d+ rules found/);
  });

  test('promtool check config accepts the example prometheus.yml and the rule files it loads', () => {
    const result = promtool(['check', 'config', 'prometheus.yml']);
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /SUCCESS: 2 rule files found/);
  });

  test('promtool test rules: every unit test in deploy/prometheus/tests passes', () => {
    const result = runUnitTests();
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /SUCCESS/);
  });

  test('the unit tests fail when an alert is weakened (they can fail)', () => {
    // Matching only `== 1` would restart the `for:` timer at every half-open probe.
    const weakened = editRules(readRuleFile('alerts.yml'), (rule) =>
      rule.alert === 'CircuitBreakerOpen' ? { ...rule, expr: 'circuit_breaker_state == 1' } : rule,
    );
    const result = runUnitTests(weakened);
    assert.notEqual(result.status, 0, result.output);
    assert.match(result.output, /alertname: CircuitBreakerOpen/);
  });

  test('the unit tests fail when a metric name in a rule is wrong', () => {
    const renamed = editRules(readRuleFile('alerts.yml'), (rule) => ({
      ...rule,
      expr: rule.expr.replaceAll('circuit_breaker_store_degraded', 'circuit_breaker_store_degraded_renamed'),
    }));
    const result = runUnitTests(renamed);
    assert.notEqual(result.status, 0, result.output);
    assert.match(result.output, /alertname: CircuitBreakerStoreDegraded/);
  });
});

describe('alert rule conventions', () => {
  const alerts = rulesOf(readRuleFile('alerts.yml'));
  const unitTests = parse(readFileSync(TEST_FILE, 'utf8')) as UnitTests;
  const cases = unitTests.tests.flatMap((t) => t.alert_rule_test ?? []);
  const panelTitles = new Set(allPanels(readDashboard()).map((panel) => panel.title));

  test('the issue’s seven situations are all covered', () => {
    const names = alerts.map((rule) => rule.alert);
    for (const name of [
      'CircuitBreakerOpen',
      'CircuitBreakerFlapping',
      'CircuitBreakerFailureRateHigh',
      'CircuitBreakerStoreDegraded',
      'AssistantDegradedAnswersHigh',
      'AssistantJobBacklogGrowing',
      'AssistantServing503s',
    ]) {
      assert.ok(names.includes(name), `alerts.yml has no ${name}`);
    }
  });

  for (const rule of alerts) {
    test(`${rule.alert}: severity, for:, runbook annotations and a real dashboard panel`, () => {
      assert.match(rule.labels?.severity ?? '', /^(critical|warning|info)$/);
      assert.match(rule.for ?? '', /^\d+[smh]$/, 'every alert states its for: (0m included)');
      for (const key of ['summary', 'description', 'runbook', 'dashboard_panel']) {
        assert.ok(rule.annotations?.[key]?.trim(), `${rule.alert} has no ${key} annotation`);
      }
      assert.ok(
        panelTitles.has(rule.annotations!.dashboard_panel!),
        `${rule.alert} points at panel "${rule.annotations!.dashboard_panel}", which the dashboard lacks`,
      );
      assert.match(rule.annotations!.summary!, /\$labels\.instance/, 'the summary names the instance');
    });

    test(`${rule.alert}: unit tests make it fire and keep it silent`, () => {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      const firing = mine.filter((c) => c.exp_alerts.length > 0);
      assert.ok(firing.length > 0, `no unit test expects ${rule.alert} to fire`);
      assert.ok(
        mine.some((c) => c.exp_alerts.length === 0),
        `no unit test expects ${rule.alert} to stay silent`,
      );
      // Alerts keep the labels that tell instances (and breakers) apart.
      for (const c of firing) {
        for (const alert of c.exp_alerts) {
          assert.ok(alert.exp_labels.instance, `${rule.alert} fires without an instance label`);
          if (rule.alert!.startsWith('CircuitBreaker')) {
            assert.ok(alert.exp_labels.breaker_name, `${rule.alert} fires without breaker_name`);
          }
        }
      }
    });
  }
});

describe('Grafana dashboard (static)', () => {
  const dashboard = readDashboard();
  const panels = allPanels(dashboard);
  const variables = dashboard.templating.list;

  test('has a stable uid, a title and unique panel ids', () => {
    assert.equal(dashboard.uid, 'tripswitch-assistant');
    assert.ok(dashboard.title);
    const ids = panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, 'duplicate panel ids');
  });

  test('importable as is: every query panel uses the datasource variable, no hard-coded datasource', () => {
    assert.ok(variables.some((v) => v.name === 'datasource' && v.type === 'datasource'));
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: DATASOURCE_VARIABLE }, panel.title);
      assert.ok(panel.targets?.length, `${panel.title} has no query`);
      for (const target of panel.targets!) assert.ok(target.expr.trim(), `${panel.title} ${target.refId}`);
    }
  });

  test('panels sit inside the 24-column grid and do not overlap', () => {
    const placed = panels.map((p) => ({ title: p.title, ...p.gridPos }));
    for (const a of placed) {
      assert.ok(a.x >= 0 && a.w > 0 && a.x + a.w <= 24 && a.h > 0, `${a.title} outside the grid`);
      for (const b of placed) {
        if (a === b) continue;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        assert.ok(!overlap, `${a.title} overlaps ${b.title}`);
      }
    }
  });

  test('the panels the issue asks for are there, each with a description', () => {
    const titles = panels.map((p) => p.title);
    for (const title of [
      'Breaker state over time',
      'Calls by outcome',
      'Failures and rejections',
      'Call latency percentiles',
      'Answers by fallback level',
      'Job queue',
      'Shared state store',
    ]) {
      assert.ok(titles.includes(title), `no panel "${title}"`);
    }
    for (const panel of panels.filter((p) => p.type !== 'row')) assert.ok(panel.description, panel.title);
  });

  test('the metrics DESIGN.md pins are all on the dashboard', () => {
    const read = new Set(
      panels
        .flatMap((p) => (p.targets ?? []).flatMap((target) => metricSelectors(target.expr)))
        .map(selectorMetric),
    );
    for (const name of [
      'circuit_breaker_state',
      'circuit_breaker_failures_total',
      'circuit_breaker_openings_total',
      'circuit_breaker_calls_total',
      'circuit_breaker_rejections_total',
      'circuit_breaker_call_duration_seconds_bucket',
      'circuit_breaker_store_degraded',
      'assistant_responses_total',
      'assistant_jobs',
    ]) {
      assert.ok(read.has(name), `no panel reads ${name}`);
    }
  });

  test('expressions only use defined variables and name metrics, never a bare {} selector', () => {
    const values = Object.fromEntries(variables.map((v) => [v.name, '.*']));
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const expr = resolveGrafanaVariables(target.expr, values);
        const selectors = metricSelectors(expr);
        assert.ok(selectors.length > 0, `${panel.title}: no metric in ${expr}`);
        for (const s of selectors) assert.ok(selectorMetric(s), `${panel.title}: nameless selector ${s}`);
      }
    }
  });
});

describe('metricSelectors (PromQL selector scan)', () => {
  test('finds selectors and skips functions, aggregations, label lists, keywords, ranges and strings', () => {
    assert.deepEqual(
      metricSelectors(
        'histogram_quantile(0.95, sum by (le, breaker_name) (rate(a_bucket{x="by (y)", z=~"1|2"}[5m])))' +
          ' / on (instance) group_left (job) b offset 5m and bool c{} or sum(d) without (e) > 0.1',
      ),
      ['a_bucket{x="by (y)", z=~"1|2"}', 'b', 'c{}', 'd'],
    );
    assert.deepEqual(metricSelectors('instance:x:rate5m > 1e-3 unless up{job="a"} == 0'), [
      'instance:x:rate5m',
      'up{job="a"}',
    ]);
  });
});
