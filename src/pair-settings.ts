import type { Config } from './config/schema';
import type { SettingsTree } from './core/settings-fingerprint';

/**
 * What must be the same on both nodes (the source sheet: the standby is
 * identical to the primary). Node identity, addresses, the contact and every
 * secret differ by design or must not leave the node, so they are not here.
 */
export function pairSettingsOf(cfg: Config): SettingsTree {
  return {
    mode: cfg.mode,
    verification: {
      attempts: cfg.verification.attempts,
      intervalMs: cfg.verification.intervalMs,
      timeoutMs: cfg.verification.timeoutMs,
      aliveTtlMs: cfg.verification.aliveTtlMs,
      aliveStatuses: cfg.verification.aliveStatuses,
    },
    dissuasion: { status: cfg.dissuasion.status, reason: cfg.dissuasion.reason },
    ipbx: { registrar: cfg.ipbx.registrar, aor: cfg.ipbx.aor },
    heartbeat: { intervalMs: cfg.heartbeat.intervalMs, staleAfterMs: cfg.heartbeat.staleAfterMs },
    app: { channels: cfg.app.channels },
  };
}
