import t from 'tap';
import { Acl, parseCidr } from '../../src/core/acl';
import { sipAcl } from '../../src/config/sip-acl';
import { configSchema } from '../../src/config/schema';

t.test('parseCidr', async (t) => {
  t.same(parseCidr('192.0.2.10'), { network: 0xc000020a, prefix: 32, mask: 0xffffffff }, 'bare address is /32');
  t.same(parseCidr('192.0.2.0/24'), { network: 0xc0000200, prefix: 24, mask: 0xffffff00 });
  t.same(parseCidr('0.0.0.0/0'), { network: 0, prefix: 0, mask: 0 });
  t.same(parseCidr('255.255.255.255/32'), { network: 0xffffffff, prefix: 32, mask: 0xffffffff });
  t.same(parseCidr('10.0.0.0/8'), { network: 0x0a000000, prefix: 8, mask: 0xff000000 });
});

t.test('parseCidr refuses bad input with the reason', async (t) => {
  const bad: [string, RegExp][] = [
    ['256.0.0.1', /octet 256 > 255/],
    ['10.0.0.0/33', /prefix 33 > 32/],
    ['10.0.0.0/', /prefix "" is not a number/],
    ['10.0.0.0/08', /prefix "08"/],
    ['10.0.0.0/-1', /prefix "-1"/],
    ['10.0.0', /four dot-separated octets/],
    ['10.0.0.0.0', /four dot-separated octets/],
    ['010.0.0.1', /leading zeros/],
    ['10.0.0.x', /octet "x"/],
    ['10.0.0.1 ', /octet "1 "/],
    ['', /four dot-separated octets/],
    ['::1', /four dot-separated octets/],
    ['10.1.2.3/8', /host bits are set below \/8/],
    ['192.0.2.1/24', /host bits/],
  ];
  for (const [input, reason] of bad) t.throws(() => parseCidr(input), reason, JSON.stringify(input));
});

t.test('/32 matches one address only', async (t) => {
  const acl = new Acl(['192.0.2.10']);
  t.ok(acl.allows('192.0.2.10'));
  t.notOk(acl.allows('192.0.2.11'));
  t.notOk(acl.allows('192.0.2.9'));
});

t.test('/24 boundaries', async (t) => {
  const acl = new Acl(['192.0.2.0/24']);
  t.ok(acl.allows('192.0.2.0'));
  t.ok(acl.allows('192.0.2.255'));
  t.notOk(acl.allows('192.0.1.255'));
  t.notOk(acl.allows('192.0.3.0'));
});

t.test('/8 boundaries, including the top half of the address space', async (t) => {
  const acl = new Acl(['10.0.0.0/8', '200.0.0.0/8']);
  t.ok(acl.allows('10.0.0.0'));
  t.ok(acl.allows('10.255.255.255'));
  t.notOk(acl.allows('9.255.255.255'));
  t.notOk(acl.allows('11.0.0.0'));
  t.ok(acl.allows('200.1.2.3'), 'addresses above 2^31 survive the 32-bit arithmetic');
  t.notOk(acl.allows('201.0.0.0'));
});

t.test('/0 matches every IPv4 address and nothing else', async (t) => {
  const acl = new Acl(['0.0.0.0/0']);
  t.ok(acl.allows('0.0.0.0'));
  t.ok(acl.allows('255.255.255.255'));
  t.ok(acl.allows('192.0.2.1'));
  t.notOk(acl.allows('2001:db8::1'));
});

t.test('non-IPv4 sources are refused, mapped IPv4 is unwrapped', async (t) => {
  const acl = new Acl(['192.0.2.0/24']);
  t.ok(acl.allows('::ffff:192.0.2.7'));
  t.ok(acl.allows('::FFFF:192.0.2.7'));
  t.notOk(acl.allows('::ffff:198.51.100.7'));
  for (const s of ['2001:db8::1', '::1', '', 'garbage', '192.0.2', '192.0.2.300', '192.0.2.07', ' 192.0.2.7']) {
    t.notOk(acl.allows(s), JSON.stringify(s));
  }
});

t.test('an empty list allows nothing; a bad entry fails construction', async (t) => {
  t.notOk(new Acl([]).allows('127.0.0.1'));
  t.throws(() => new Acl(['192.0.2.0/24', '300.0.0.0/8']), /invalid CIDR "300.0.0.0\/8"/);
});

function config(security: { trusted?: string[]; lockdown?: boolean }) {
  return configSchema.parse({
    node: { id: 'node-a', role: 'primary' },
    peer: { id: 'node-b', uri: 'sip:node-b@198.51.100.2', addresses: ['198.51.100.2'] },
    drachtio: { secret: 'Tq7#vLm2pX' },
    ipbx: {
      registrar: 'sip:ipbx.example',
      aor: 'sip:appsrv@ipbx.example',
      contact: 'sip:appsrv@198.51.100.1',
      username: 'appsrv',
      password: 'Tq7#vLm2pX',
      addresses: ['192.0.2.0/28'],
    },
    app: { target: 'sip:app@127.0.0.1:5070' },
    redis: { url: 'redis://127.0.0.1:6379' },
    security,
  });
}

t.test('sipAcl trusts the IPBX, the peer, security.trusted and loopback', async (t) => {
  const acl = sipAcl(config({ trusted: ['203.0.113.0/24'] }));
  t.ok(acl.allows('192.0.2.15'), 'IPBX');
  t.notOk(acl.allows('192.0.2.16'), 'just outside the IPBX block');
  t.ok(acl.allows('198.51.100.2'), 'peer');
  t.ok(acl.allows('203.0.113.200'), 'trusted');
  t.ok(acl.allows('127.0.0.1'), 'loopback');
  t.ok(acl.allows('127.255.255.254'), 'all of 127/8');
  t.notOk(acl.allows('198.51.100.3'));
});

t.test('lockdown leaves only the IPBX', async (t) => {
  const acl = sipAcl(config({ trusted: ['203.0.113.0/24'], lockdown: true }));
  t.ok(acl.allows('192.0.2.1'));
  t.ok(acl.allows('::ffff:192.0.2.1'));
  t.notOk(acl.allows('198.51.100.2'), 'peer');
  t.notOk(acl.allows('203.0.113.200'), 'trusted');
  t.notOk(acl.allows('127.0.0.1'), 'loopback');
});
