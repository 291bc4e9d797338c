import t from 'tap';
import { applyRegister, contactHeaderOf } from '../../demo/one-binding';

const A = 'sip:appsrv@127.0.5.11:5060';
const B = 'sip:appsrv@127.0.5.12:5060';

t.test('the demo IPBX holds one contact per AOR: a new contact replaces, expires=0 removes, a query changes nothing', async (t) => {
  let r = applyRegister(null, `<${A}>`, '300', 0);
  t.match(r.effect, { kind: 'bound', replaced: null });
  t.equal(contactHeaderOf(r.next, 1000), `<${A}>;expires=299`);
  r = applyRegister(r.next, undefined, undefined, 2000);
  t.strictSame(r.effect, { kind: 'query' });
  t.equal(r.next?.contact, A);
  r = applyRegister(r.next, `<${B}>;expires=300`, undefined, 3000);
  t.match(r.effect, { kind: 'bound', replaced: A }, 'never two: B replaces A');
  t.equal(contactHeaderOf(r.next, 3000), `<${B}>;expires=300`);
  t.strictSame(applyRegister(r.next, `<${A}>;expires=0`, undefined, 4000).effect, { kind: 'unchanged' }, 'removing a contact not held changes nothing');
  r = applyRegister(r.next, `<${B}>`, '0', 5000);
  t.strictSame(r.effect, { kind: 'removed', contact: B });
  t.equal(contactHeaderOf(r.next, 5000), null);
});

t.test('a lapsed binding is gone: a query finds nothing', async (t) => {
  const bound = applyRegister(null, `<${A}>;expires=10`, undefined, 0).next;
  t.equal(applyRegister(bound, undefined, undefined, 11_000).next, null);
  t.equal(contactHeaderOf(bound, 11_000), null);
});
