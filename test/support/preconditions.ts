import type { Test } from 'tap';
import { onPath } from './processes';

/** A program a test layer needs, and what brings it onto a Debian machine. */
export interface Tool {
  readonly command: string;
  readonly from: string;
}

export const TOOLS = {
  drachtio: { command: 'drachtio', from: 'scripts/install-drachtio-server.sh' },
  sipp: { command: 'sipp', from: 'Debian package sip-tester' },
  redis: { command: 'redis-server', from: 'Debian package redis-server' },
  openssl: { command: 'openssl', from: 'Debian package openssl' },
  promtool: { command: 'promtool', from: 'Debian package prometheus' },
  dockerCompose: { command: 'docker-compose', from: 'Debian package docker-compose' },
} as const satisfies Record<string, Tool>;

/**
 * In CI (CI=true) a missing tool fails the run: a layer that silently skipped
 * there would let a change land that nothing proved. Elsewhere the layer is
 * skipped with one line, so the rest of the suite still runs on a laptop.
 */
export const missingToolFails = process.env.CI === 'true';

/** The first line of a layer that cannot run here, or null when every tool is on PATH. */
export function unavailable(layer: string, tools: readonly Tool[], onPathOf: (cmd: string) => boolean = onPath): string | null {
  const missing = tools.filter((tool) => !onPathOf(tool.command));
  if (missing.length === 0) return null;
  const what = missing.map((tool) => `${tool.command} not found on PATH (${tool.from})`).join('; ');
  return `${layer} ${missingToolFails ? 'cannot run' : 'skipped'}: ${what}`;
}

/** Runs the layer's tests, or says in one line why it cannot run: a skip here, a failure in CI. */
export function withTools(t: Test, layer: string, tools: readonly Tool[], run: () => void): void {
  const why = unavailable(layer, tools);
  if (why === null) return run();
  process.stderr.write(`${why}\n`);
  if (missingToolFails) {
    t.fail(`${why} (CI=true: a missing tool fails the run)`);
    return;
  }
  t.plan(0, why);
}
