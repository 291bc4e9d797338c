import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { assertStrongSecrets } from '../core/secrets';
import { type Config, configSchema } from './schema';

export const ENV_PREFIX = 'UNDERSTUDY_';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function unwrap(schema: z.ZodType): z.ZodType {
  let t = schema;
  while (!(t instanceof z.ZodObject) && !(t instanceof z.ZodArray) && 'unwrap' in t && typeof t.unwrap === 'function') {
    t = (t as { unwrap(): z.ZodType }).unwrap();
  }
  return t;
}

/** Every settable key path (`ipbx.password`, …) with its schema, from the schema itself. */
function leaves(schema: z.ZodType = configSchema, prefix = ''): [string, z.ZodType][] {
  const t = unwrap(schema);
  if (!(t instanceof z.ZodObject)) return [[prefix, t]];
  return Object.entries(t.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

export function configKeys(): string[] {
  return leaves().map(([k]) => k);
}

/**
 * Environment overrides: `UNDERSTUDY_IPBX__PASSWORD=…` sets `ipbx.password`
 * (segments joined by `__`, case-insensitive). Values of string keys are taken
 * as they are; the others are read as YAML, so `3`, `true` and `[10.0.0.1]` get their types.
 * An UNDERSTUDY_ variable that names no key is an error, not a silent no-op.
 */
export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const byEnvName = new Map(leaves().map(([k, schema]) => [k.split('.').join('__').toUpperCase(), { key: k, schema }]));
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const leaf = byEnvName.get(name.slice(ENV_PREFIX.length).toUpperCase());
    if (!leaf) {
      problems.push(`${name}: names no configuration key`);
      continue;
    }
    // A password of digits is still a string: only non-string keys are read as YAML.
    setPath(raw, leaf.key.split('.'), leaf.schema instanceof z.ZodString ? value : (parseYaml(value) as unknown));
  }
  return problems;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const seg of path.slice(0, -1)) {
    const next = cur[seg];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[seg] = {};
    cur = cur[seg] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/**
 * Validates an already-parsed object; every problem names its key. Weak secrets
 * are refused here, so the agent never starts with one (seed 004's baseline).
 */
export function validateConfig(raw: unknown): Config {
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`));
  }
  const weak = assertStrongSecrets([
    { key: 'ipbx.password', value: r.data.ipbx.password },
    { key: 'admin.token', value: r.data.admin.token },
  ]);
  if (weak.length) throw new ConfigError(weak);
  return r.data;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: ${err instanceof Error ? err.message : String(err)}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError([`${file}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError([`${file}: the top level must be a mapping`]);
  const envProblems = applyEnv(raw as Record<string, unknown>, env);
  if (envProblems.length) throw new ConfigError(envProblems);
  return validateConfig(raw);
}
