/** An IPv4 block as unsigned 32-bit integers. */
export interface Cidr {
  readonly network: number;
  readonly prefix: number;
  readonly mask: number;
}

export const LOOPBACK_CIDR = '127.0.0.0/8';

function maskOf(prefix: number): number {
  // A shift by 32 is a shift by 0 in JavaScript, so /0 needs its own case.
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Dotted-quad to integer, or a reason. Leading zeros are refused because some
 * stacks read `010` as octal 8: the operator and the kernel could disagree on
 * which address is trusted.
 */
function parseIpv4(s: string): number | string {
  const parts = s.split('.');
  if (parts.length !== 4) return 'expected four dot-separated octets';
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return `octet "${part}" is not a decimal number without leading zeros`;
    const octet = Number(part);
    if (octet > 255) return `octet ${octet} > 255`;
    value = value * 256 + octet;
  }
  return value;
}

/**
 * `a.b.c.d/n`, or a bare address meaning /32. Host bits must be zero: in
 * `10.1.2.3/8` the operator meant either /32 or 10.0.0.0/8, and guessing the
 * wider one would trust sixteen million addresses by accident.
 */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf('/');
  const addressPart = slash === -1 ? s : s.slice(0, slash);
  const prefixPart = slash === -1 ? '32' : s.slice(slash + 1);
  const address = parseIpv4(addressPart);
  if (typeof address === 'string') throw new Error(`invalid CIDR "${s}": ${address}`);
  if (!/^(0|[1-9][0-9]?)$/.test(prefixPart)) throw new Error(`invalid CIDR "${s}": prefix "${prefixPart}" is not a number 0-32`);
  const prefix = Number(prefixPart);
  if (prefix > 32) throw new Error(`invalid CIDR "${s}": prefix ${prefix} > 32`);
  const mask = maskOf(prefix);
  const network = (address & mask) >>> 0;
  if (network !== address) throw new Error(`invalid CIDR "${s}": host bits are set below /${prefix}; write the network address or /32`);
  return { network, prefix, mask };
}

/** Drachtio and Node report IPv4 peers on dual-stack sockets as `::ffff:a.b.c.d`. */
function unwrapMappedIpv4(address: string): string {
  return /^::ffff:/i.test(address) ? address.slice('::ffff:'.length) : address;
}

/** An allow-list of IPv4 blocks. Anything that is not IPv4 is refused, so IPv6 sources are untrusted until the list can express them. */
export class Acl {
  private readonly blocks: readonly Cidr[];

  /** Throws on the first malformed entry, so a typo stops start-up instead of silently trusting nobody. */
  constructor(cidrs: readonly string[]) {
    this.blocks = cidrs.map(parseCidr);
  }

  allows(address: string): boolean {
    const ip = parseIpv4(unwrapMappedIpv4(address));
    if (typeof ip === 'string') return false;
    return this.blocks.some((b) => ((ip & b.mask) >>> 0) === b.network);
  }
}

const loopback = new Acl([LOOPBACK_CIDR]);

/** Whether a listen or connect address (`host` of the config, brackets off) stays on this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || loopback.allows(host);
}
