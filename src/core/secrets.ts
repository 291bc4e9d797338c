/**
 * Password rules of the IPBX security guide (seed 004 §2), applied to the
 * secrets understudy holds: the SIP password it registers with, the admin token,
 * and the store and drachtio secrets the audit reviews.
 */

export const MIN_SECRET_LENGTH = 8;
const MIN_RUN = 4;
export const GENERATE_HINT = 'generate one with `openssl rand -base64 24`';

/**
 * Markers the shipped examples use so a copied example cannot start: a secret
 * that says it must be replaced is refused whatever its strength.
 */
const PLACEHOLDER = /change[-_. ]?me|replace[-_. ]?me/i;

/**
 * Compared case-insensitively against the whole value. Values shorter than
 * eight characters are listed too so that `1234` is reported as trivial rather
 * than merely short: the reason tells the operator why, not just what.
 * `cymru` is drachtio-server's shipped admin secret; `hello123` is the guide's
 * own example of an accepted password, so it is public knowledge.
 */
const TRIVIAL_VALUES: ReadonlySet<string> = new Set([
  '0000',
  '1111',
  '1234',
  '00000000',
  '11111111',
  '12345678',
  'password',
  'password1',
  'passw0rd',
  'p@ssw0rd',
  'motdepasse',
  'admin',
  'admin123',
  'administrator',
  'secret',
  'changeme',
  'changeme1',
  'welcome',
  'welcome1',
  'azerty',
  'azerty123',
  'qwerty',
  'qwerty123',
  'hello123',
  'cymru',
  // Printed in earlier README and example configs: public, however strong they look.
  'dr4chtio-adm1n-secret',
  'replace-me-9xq',
  'replace-me-adm1n-token',
]);

type CharClass = 'digit' | 'letter' | 'other';

function charClass(c: string): CharClass {
  if (c >= '0' && c <= '9') return 'digit';
  if (c >= 'a' && c <= 'z') return 'letter';
  return 'other';
}

/**
 * Whether `chars` holds MIN_RUN or more consecutive characters that step by +1
 * (`1234`, `cdef`) or by -1 (`9876`, `DCBA`) inside one class. The caller
 * lower-cases first, so `aBcD` is a run; classes do not chain (`789:` is not).
 */
function hasSequentialRun(chars: readonly string[]): boolean {
  let step = 0;
  let length = 1;
  for (let i = 1; i < chars.length; i++) {
    const prev = chars[i - 1];
    const cur = chars[i];
    const cls = charClass(cur);
    const delta = cur.charCodeAt(0) - prev.charCodeAt(0);
    const continues = cls !== 'other' && cls === charClass(prev) && (delta === 1 || delta === -1);
    if (continues && delta === step) {
      length += 1;
    } else {
      step = continues ? delta : 0;
      length = continues ? 2 : 1;
    }
    if (length >= MIN_RUN) return true;
  }
  return false;
}

/**
 * Why `value` is too weak to guard anything, or null when it passes. Rules,
 * checked in this order so the reason is the most specific one:
 * 1. not a well-known trivial or vendor-default value (case-insensitive, whole value);
 * 1b. not a placeholder (`CHANGE-ME`, `replace-me-…`) anywhere in the value;
 * 2. at least 8 characters (Unicode code points);
 * 3. not one character repeated (`aaaaaaaa`);
 * 4. no run of 4 or more consecutive ascending or descending characters
 *    anywhere in the value, digits or letters, case-insensitive (`1234`, `abcd`,
 *    `9876`, `DcBa`); this is stricter than refusing only all-sequence values
 *    like `12345678`, and a generated secret almost never contains such a run;
 * 5. at least one upper-case letter, one lower-case letter and one digit
 *    (`HelloYou` is refused for lacking a digit).
 * Special characters are allowed. Reasons never quote the value, since they end
 * up in logs and in the audit output.
 */
export function secretWeakness(value: string): string | null {
  const chars = [...value];
  if (TRIVIAL_VALUES.has(value.toLowerCase())) return 'a well-known trivial or vendor-default value';
  if (PLACEHOLDER.test(value)) return `a placeholder: ${GENERATE_HINT}`;
  if (chars.length < MIN_SECRET_LENGTH) return `too short (${chars.length} < ${MIN_SECRET_LENGTH} characters)`;
  if (new Set(chars).size === 1) return 'a single repeated character';
  if (hasSequentialRun([...value.toLowerCase()])) {
    return `contains an ascending or descending run of ${MIN_RUN} or more characters (like 1234 or dcba)`;
  }
  const missing = [
    /\p{Lu}/u.test(value) ? null : 'an upper-case letter',
    /\p{Ll}/u.test(value) ? null : 'a lower-case letter',
    /[0-9]/.test(value) ? null : 'a digit',
  ].filter((m): m is string => m !== null);
  return missing.length === 0 ? null : `needs ${missing.join(', ')}`;
}

/**
 * One message per weak secret, prefixed with its config key, for the config
 * validator to refuse start-up with. Unset secrets are skipped: whether a key
 * is required is the schema's business.
 */
export function assertStrongSecrets(entries: readonly { key: string; value: string | undefined }[]): string[] {
  return entries.flatMap(({ key, value }) => {
    if (value === undefined) return [];
    const weakness = secretWeakness(value);
    return weakness === null ? [] : [`${key}: ${weakness}`];
  });
}
