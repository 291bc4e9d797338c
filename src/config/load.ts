import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { assertStrongSecrets } from '../core/secrets';
import { type Config, configSchema } from './schema';
import { configSecrets, SECRET_KEYS } from './secrets';

export const ENV_PREFIX = 'UNDERSTUDY_';
/** `UNDERSTUDY_IPBX__PASSWORD_FILE` names the file that holds `ipbx.password`. */
const FILE_ENV_SUFFIX = '_FILE';
/** `ipbx.passwordFile` in YAML names the file that holds `ipbx.password`. */
const FILE_KEY_SUFFIX = 'File';

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
  const byEnvName = new Map(leaves().map(([k, schema]) => [envName(k), { key: k, schema }]));
  const fileVars = new Set(SECRET_KEYS.map((k) => envName(k) + FILE_ENV_SUFFIX));
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || fileVars.has(name.slice(ENV_PREFIX.length).toUpperCase())) continue;
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

function envName(key: string): string {
  return key.split('.').join('__').toUpperCase();
}

function getPath(obj: Record<string, unknown>, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/**
 * Reads a secret handed as a file (`/run/secrets/…`, systemd's
 * `$CREDENTIALS_DIRECTORY/…`). A file others can read is refused: the secret
 * would be no more private than the host's least trusted account. Trailing line
 * breaks are dropped, since `echo` and `openssl rand` write one.
 */
export function readSecretFile(key: string, file: string): string {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${key}: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const problem = secretFileProblem(mode);
  if (problem) throw new ConfigError([`${key}: ${file} ${problem}: chmod 600 ${file}`]);
  const value = text.replace(/[\r\n]+$/, '');
  if (value === '') throw new ConfigError([`${key}: ${file} is empty`]);
  return value;
}

/** Why a secret file with these mode bits is refused, or null. */
function secretFileProblem(mode: number): string | null {
  const open = mode & 0o077;
  return open === 0 ? null : `is open to group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')})`;
}

/**
 * Secrets handed as files, in order of precedence: an `UNDERSTUDY_…_FILE`
 * variable over any value, and `…File` in YAML over the YAML value. Naming both
 * a value and a file at the same level is an error, not a guess.
 */
function applySecretFiles(raw: Record<string, unknown>, layer: 'yaml' | 'env', env: NodeJS.ProcessEnv): string[] {
  // Variable names are case-insensitive, as in applyEnv.
  const byUpperName = new Map(Object.entries(env).map(([name, value]) => [name.toUpperCase(), value]));
  const problems: string[] = [];
  for (const key of SECRET_KEYS) {
    const path = key.split('.');
    const leaf = path[path.length - 1]!;
    const fileKey = [...path.slice(0, -1), leaf + FILE_KEY_SUFFIX];
    const valueVar = ENV_PREFIX + envName(key);
    const fileVar = valueVar + FILE_ENV_SUFFIX;
    const file = layer === 'yaml' ? getPath(raw, fileKey) : byUpperName.get(fileVar);
    if (layer === 'yaml') deletePath(raw, fileKey);
    if (file === undefined) continue;
    const where = layer === 'yaml' ? fileKey.join('.') : fileVar;
    if (typeof file !== 'string' || file === '') {
      problems.push(`${where}: must be a file path`);
      continue;
    }
    const alsoValue = layer === 'yaml' ? getPath(raw, path) !== undefined : byUpperName.get(valueVar) !== undefined;
    if (alsoValue) {
      problems.push(`${where}: ${layer === 'yaml' ? key : valueVar} is set too; keep one`);
      continue;
    }
    try {
      setPath(raw, path, readSecretFile(key, file));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  return problems;
}

function deletePath(obj: Record<string, unknown>, path: readonly string[]): void {
  const parent = getPath(obj, path.slice(0, -1));
  if (typeof parent === 'object' && parent !== null && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[path[path.length - 1]!];
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
  const weak = assertStrongSecrets(configSecrets(r.data));
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
  const mapping = raw as Record<string, unknown>;
  const problems = [...applySecretFiles(mapping, 'yaml', env), ...applyEnv(mapping, env), ...applySecretFiles(mapping, 'env', env)];
  if (problems.length) throw new ConfigError(problems);
  return validateConfig(raw);
}
