import type { SendProbe } from '../core/probe';
import { sendRequest, type Srf } from './srf';

/**
 * An OPTIONS sender for the core's probe loop. The abort signal is not relayed:
 * a non-INVITE transaction cannot be cancelled in SIP, the core simply stops waiting.
 */
export function optionsProbe(srf: Srf, uri: string, from: string): SendProbe {
  return async () => {
    try {
      const res = await sendRequest(srf, uri, { method: 'OPTIONS', headers: { From: `<${from}>` } });
      return { status: res.status };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  };
}
