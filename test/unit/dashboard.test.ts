import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t, { type Test } from 'tap';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { ALARMS, createMetrics, PROBE_OUTCOMES, VERDICTS } from '../../src/metrics';
import { OVERFLOW_OUTCOMES, REJECT_REASONS } from '../../src/sip/request-router';

const root = resolve(__dirname, '../..');
const exported = new Set(createMetrics(new Registry()).registry.getMetricsAsArray().map((m) => m.name));

/** Label values that are closed sets in src/metrics.ts: a typo there would make a query silently match nothing. */
const closedLabels: Record<string, Record<string, readonly string[]>> = {
  understudy_alarm: { alarm: ALARMS },
  understudy_verifications_total: { verdict: VERDICTS },
  understudy_overflow_invites_total: { outcome: OVERFLOW_OUTCOMES },
  understudy_sip_rejected_total: { reason: REJECT_REASONS },
  understudy_probe_rtt_seconds: { outcome: PROBE_OUTCOMES },
};

/** The registered name behind a series name: histograms are queried through their _bucket, _sum and _count series. */
function baseName(series: string): string {
  const histogram = series.replace(/_(bucket|sum|count)$/, '');
  return exported.has(histogram) ? histogram : series;
}

/** Every `expr` string anywhere in a parsed document, with where it was found. */
function exprs(node: unknown, path: string): [string, string][] {
  if (Array.isArray(node)) return node.flatMap((child, i) => exprs(child, `${path}[${i}]`));
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([k, v]): [string, string][] =>
    k === 'expr' && typeof v === 'string' ? [[`${path}.expr`, v]] : exprs(v, `${path}.${k}`),
  );
}

function checkExprs(t: Test, found: [string, string][]) {
  t.ok(found.length > 0, 'has queries');
  for (const [where, expr] of found) {
    const names = expr.match(/\b(?:understudy|nodejs|process)_[a-z_]+/g) ?? [];
    t.ok(names.length > 0, `${where} queries at least one agent metric`);
    for (const name of names) t.ok(exported.has(baseName(name)), `${where}: ${name} is exported by createMetrics()`);
    for (const [, name, matchers] of expr.matchAll(/\b(understudy_[a-z_]+)\{([^}]*)\}/g)) {
      const labels = closedLabels[baseName(name)] ?? {};
      for (const [, label, value] of matchers.matchAll(/(\w+)="([^"]*)"/g)) {
        const allowed = labels[label];
        if (allowed) t.ok(allowed.includes(value), `${where}: ${label}="${value}" is one of ${allowed.join(', ')}`);
      }
    }
  }
}

t.test('dashboard', async (t) => {
  const dashboard: unknown = JSON.parse(readFileSync(resolve(root, 'config/grafana/understudy-dashboard.json'), 'utf8'));
  t.match(dashboard, {
    schemaVersion: Number,
    templating: { list: [{ name: 'datasource', type: 'datasource' }, { name: 'instance', type: 'query' }] },
    __inputs: [{ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }],
  });
  checkExprs(t, exprs(dashboard, 'dashboard'));
  for (const [where, expr] of exprs(dashboard, 'dashboard')) t.ok(expr.includes('instance=~"$instance"'), `${where} follows the instance variable`);
});

t.test('alert rules', async (t) => {
  const rules: unknown = parse(readFileSync(resolve(root, 'config/prometheus/alerts.yml'), 'utf8'));
  checkExprs(t, exprs(rules, 'alerts'));
});
