import type { Config } from './schema';

/**
 * Every key that holds a secret. Start-up refuses a weak value in any of them,
 * each can be handed as a file, and the e2e harness checks none reaches a log.
 */
export const SECRET_KEYS = ['ipbx.password', 'admin.token', 'drachtio.secret', 'redis.password', 'redis.sentinelPassword'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

export interface ConfiguredSecret {
  readonly key: string;
  readonly value: string | undefined;
}

/** The password part of a `redis://user:pw@host` URL, percent-decoded; undefined when none or unparsable. */
export function urlPassword(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const pw = new URL(url).password;
  if (pw === '') return undefined;
  try {
    return decodeURIComponent(pw);
  } catch {
    // A stray `%` is not an escape: Redis gets the text as written.
    return pw;
  }
}

/**
 * The secret values of a config by key. The store password may sit in the URL
 * rather than in `redis.password`; both reach Redis, so both are listed.
 */
export function configSecrets(cfg: Config): ConfiguredSecret[] {
  const values: Record<SecretKey, string | undefined> = {
    'ipbx.password': cfg.ipbx.password,
    'admin.token': cfg.admin.token,
    'drachtio.secret': cfg.drachtio.secret,
    'redis.password': cfg.redis?.password,
    'redis.sentinelPassword': cfg.redis?.sentinelPassword,
  };
  return [...SECRET_KEYS.map((key) => ({ key, value: values[key] })), { key: 'redis.url', value: urlPassword(cfg.redis?.url) }];
}
