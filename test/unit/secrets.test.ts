import t from 'tap';
import { assertStrongSecrets, secretWeakness } from '../../src/core/secrets';

t.test('the security guide examples are refused, each with a reason', async (t) => {
  const expected: [string, RegExp][] = [
    ['1234', /trivial or vendor-default/],
    ['0000', /trivial or vendor-default/],
    ['12345678', /trivial or vendor-default/],
    ['11111111', /trivial or vendor-default/],
    ['aaaaaaaa', /single repeated character/],
    ['abcdefgh', /ascending or descending run/],
    ['HelloYou', /needs a digit/],
  ];
  for (const [value, reason] of expected) t.match(secretWeakness(value), reason, value);
});

t.test('trivial values are matched case-insensitively', async (t) => {
  t.match(secretWeakness('PassWord1'), /trivial/);
  t.match(secretWeakness('CYMRU'), /trivial/);
});

t.test('length counts characters, not UTF-16 units', async (t) => {
  t.equal(secretWeakness('Ab1x'), 'too short (4 < 8 characters)');
  t.match(secretWeakness('Ab1😀😀😀x'), /too short \(7 < 8/);
  t.equal(secretWeakness('Ab1😀😀😀xy'), null);
});

t.test('runs of four are refused anywhere, either direction, any case', async (t) => {
  for (const value of ['Xq9z1234Lm', 'Xq9zDcBaLm', 'Xq9z9876Lm', 'wxyZ7Qpm', 'Qp7m!lmno']) {
    t.match(secretWeakness(value), /run of 4/, value);
  }
});

t.test('runs of three, and sequences across classes, are allowed', async (t) => {
  for (const value of ['Xq123zLm9', 'Xq9zabcLm', 'Ab1789:;<', 'Zq12321Lm', 'Tq7#vLm2pX']) {
    t.equal(secretWeakness(value), null, value);
  }
});

t.test('missing character classes are all named', async (t) => {
  t.equal(secretWeakness('qwmzkxrt'), 'needs an upper-case letter, a digit');
  t.equal(secretWeakness('QWMZ7KXR'), 'needs a lower-case letter');
  t.equal(secretWeakness('Écureuil7'), null, 'non-ASCII letters count for their case');
});

t.test('strong values are accepted', async (t) => {
  for (const value of ['Tq7#vLm2pX', 'Hq8mZ2xr', 'correct-Horse-battery-9']) t.equal(secretWeakness(value), null, value);
});

t.test('assertStrongSecrets names each weak key and skips unset ones', async (t) => {
  t.same(
    assertStrongSecrets([
      { key: 'ipbx.password', value: 'Ab1x' },
      { key: 'admin.token', value: undefined },
      { key: 'redis.password', value: 'Tq7#vLm2pX' },
      { key: 'drachtio.secret', value: 'cymru' },
    ]),
    ['ipbx.password: too short (4 < 8 characters)', 'drachtio.secret: a well-known trivial or vendor-default value'],
  );
  t.same(assertStrongSecrets([]), []);
});

t.test('placeholders are refused whatever their strength, with how to generate a secret', async (t) => {
  for (const value of ['CHANGE-ME', 'Change-Me-9xQz', 'Replace-Me-7wQ', 'Xq7_replace_me_Lm2', 'changeMe4Qz']) {
    t.equal(secretWeakness(value), 'a placeholder: generate one with `openssl rand -base64 24`', value);
  }
});

t.test('the example secrets once printed in the README are refused though they pass the rules', async (t) => {
  for (const value of ['Dr4chtio-Adm1n-Secret', 'Replace-Me-Adm1n-Token', 'Replace-Me-9xQ']) t.not(secretWeakness(value), null, value);
});
