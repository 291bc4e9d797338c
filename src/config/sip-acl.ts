import { Acl, LOOPBACK_CIDR } from '../core/acl';
import type { Config } from './schema';

/**
 * Sources whose SIP requests reach the agent. Lockdown is the guide's "close all
 * external links" switch: only the IPBX remains, so even the peer's probes and
 * local test tools are refused.
 */
export function sipAcl(cfg: Config): Acl {
  if (cfg.security.lockdown) return new Acl(cfg.ipbx.addresses);
  return new Acl([...cfg.ipbx.addresses, ...(cfg.peer?.addresses ?? []), ...cfg.security.trusted, LOOPBACK_CIDR]);
}
