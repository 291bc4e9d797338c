import { parseBindings, sameContact } from '../src/core/registration-timing';

/** What the demo IPBX holds for the application's AOR: at most one contact, as the licence demands. */
export interface Binding {
  readonly contact: string;
  /** Wall-clock ms after which it lapses. */
  readonly expiresAt: number;
}

export type RegisterEffect =
  | { readonly kind: 'query' }
  | { readonly kind: 'bound'; readonly binding: Binding; readonly replaced: string | null }
  | { readonly kind: 'removed'; readonly contact: string }
  | { readonly kind: 'unchanged' };

/**
 * One REGISTER applied to the single binding of an AOR: no Contact is a query;
 * a new contact replaces the one held (never two); `expires=0` (parameter or
 * Expires header) removes the contact it names, if it is the one held.
 */
export function applyRegister(
  current: Binding | null,
  contactHeader: string | undefined,
  expiresHeader: string | undefined,
  now: number,
): { readonly next: Binding | null; readonly effect: RegisterEffect } {
  const held = current && current.expiresAt > now ? current : null;
  const bindings = parseBindings(contactHeader);
  if (bindings.length === 0) return { next: held, effect: { kind: 'query' } };
  const headerExpires = /^\s*\d+\s*$/.test(expiresHeader ?? '') ? Number(expiresHeader) : 3600;
  let next = held;
  let effect: RegisterEffect = { kind: 'unchanged' };
  for (const b of bindings) {
    const expires = b.expires ?? headerExpires;
    if (expires === 0) {
      if (next && sameContact(next.contact, b.uri)) {
        effect = { kind: 'removed', contact: next.contact };
        next = null;
      }
    } else {
      const replaced = next && !sameContact(next.contact, b.uri) ? next.contact : null;
      next = { contact: b.uri, expiresAt: now + expires * 1000 };
      effect = { kind: 'bound', binding: next, replaced };
    }
  }
  return { next, effect };
}

/** The Contact header of a 200 to REGISTER: the binding held, with its remaining lifetime. */
export function contactHeaderOf(binding: Binding | null, now: number): string | null {
  if (!binding || binding.expiresAt <= now) return null;
  return `<${binding.contact}>;expires=${Math.ceil((binding.expiresAt - now) / 1000)}`;
}
