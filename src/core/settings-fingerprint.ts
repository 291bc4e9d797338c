/**
 * The settings both nodes of a pair must share: a standby that verifies,
 * dissuades or times its heartbeat differently from the primary behaves
 * differently on the day it matters. Each node publishes a fingerprint of
 * them in its heartbeat and compares it with its peer's.
 */

type SettingValue = string | number | boolean | readonly (string | number)[] | undefined;
export interface SettingsTree {
  readonly [key: string]: SettingValue | SettingsTree;
}

/** Dotted key (e.g. `verification.attempts`) to a digest of its value: names what differs, never carries a value. */
export type SettingsFingerprint = Readonly<Record<string, string>>;

/**
 * FNV-1a, 32 bits: enough to tell two configured values apart, and computable
 * here without node:crypto. The input never holds a secret (see pair-settings.ts).
 */
function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function isTree(v: SettingValue | SettingsTree): v is SettingsTree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function fingerprint(tree: SettingsTree, prefix = ''): SettingsFingerprint {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tree)) {
    const path = `${prefix}${key}`;
    if (isTree(value)) Object.assign(out, fingerprint(value, `${path}.`));
    else out[path] = digest(JSON.stringify(value ?? null));
  }
  return out;
}

/** The keys whose values differ, or that one side has and the other not (a newer version), sorted. */
export function driftedKeys(mine: SettingsFingerprint, theirs: SettingsFingerprint): string[] {
  const keys = new Set([...Object.keys(mine), ...Object.keys(theirs)]);
  return [...keys].filter((k) => mine[k] !== theirs[k]).sort();
}
