/**
 * The demo's IPBX: a registrar that keeps ONE contact for the application's AOR,
 * and a call router that offers each incoming call to that contact first and
 * overflows to the other node's static address when the owner answers busy,
 * unavailable, timed out, or nothing within `noAnswerMs`. A call the overflow
 * node refuses (dissuasion) goes back to the owner, a few times, as an IPBX
 * queue would. A drachtio-srf app on its own drachtio-server; it narrates what
 * it does in one short line per step.
 */
import Srf from 'drachtio-srf';
import { failureStatus, onRequest, type Dialog, type SipRequest, type SipResponse } from '../src/sip/srf';
import { applyRegister, type Binding, contactHeaderOf } from './one-binding';

export interface IpbxNode {
  /** e.g. `node-a` */
  readonly name: string;
  /** Its static address (the overflow trunk), the same URI it registers as contact. */
  readonly uri: string;
  /** Who answers a call it bridges, e.g. `app A`. */
  readonly app: string;
}

export interface IpbxOptions {
  readonly drachtio: { readonly host: string; readonly port: number; readonly secret: string };
  readonly nodes: readonly [IpbxNode, IpbxNode];
  /** An owner that says nothing final for this long is given up on (the IPBX's no-answer timer). */
  readonly noAnswerMs: number;
  /** After a dissuasion: how many more tries at the owner, and how far apart. */
  readonly returnTries: number;
  readonly returnDelayMs: number;
}

/** Final statuses on which the IPBX overflows instead of passing the failure to the caller. */
const OVERFLOW_ON = new Set([408, 480, 486, 503]);

type Attempt =
  | { readonly kind: 'answered'; readonly dialog: Dialog }
  | { readonly kind: 'failed'; readonly status: number }
  | { readonly kind: 'no-answer' };

const describe = (a: Exclude<Attempt, { kind: 'answered' }>) =>
  a.kind === 'no-answer' ? 'no answer' : `${a.status} ${{ 408: 'timeout', 480: 'unavailable', 486: 'busy', 503: 'unavailable' }[a.status] ?? 'refused'}`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Ipbx {
  private readonly srf = new Srf();
  private binding: Binding | null = null;
  private calls = 0;
  private connected = false;
  /** The contact last narrated as registered: a refresh of the same binding is not news. */
  private lastNarrated: string | null = null;

  constructor(
    private readonly opts: IpbxOptions,
    private readonly narrate: (line: string) => void,
  ) {}

  /** The node holding the AOR's binding now, if any. */
  get owner(): IpbxNode | null {
    const b = this.binding && this.binding.expiresAt > Date.now() ? this.binding : null;
    return b ? (this.opts.nodes.find((n) => n.uri === b.contact) ?? null) : null;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.srf.on('connect', () => (this.connected = true));
    this.srf.on('error', () => (this.connected = false));
    // With a listener on error, drachtio-srf retries the connection by itself.
    void this.srf.connect({ ...this.opts.drachtio });
    onRequest(this.srf, 'register', (req, res) => this.onRegister(req, res));
    onRequest(this.srf, 'invite', (req, res) => void this.onInvite(req, res).catch((err: unknown) => this.narrate(`IPBX error: ${String(err)}`)));
  }

  stop(): void {
    this.srf.disconnect();
  }

  private nameOf(contact: string): string {
    return this.opts.nodes.find((n) => n.uri === contact)?.name ?? contact;
  }

  private onRegister(req: SipRequest, res: SipResponse): void {
    const now = Date.now();
    const { next, effect } = applyRegister(this.binding, req.get('Contact') || undefined, req.get('Expires') || undefined, now);
    this.binding = next;
    if (effect.kind === 'bound' && effect.replaced !== null) this.narrate(`IPBX: ${this.nameOf(effect.replaced)}'s binding replaced by ${this.nameOf(effect.binding.contact)}`);
    else if (effect.kind === 'bound' && effect.binding.contact !== (this.lastNarrated ?? '')) this.narrate(`IPBX: appsrv registered at ${this.nameOf(effect.binding.contact)}`);
    else if (effect.kind === 'removed') this.narrate(`IPBX: ${this.nameOf(effect.contact)}'s binding removed`);
    this.lastNarrated = next?.contact ?? null;
    const contact = contactHeaderOf(next, now);
    res.send(200, { headers: contact ? { Contact: contact } : {} });
  }

  private async onInvite(req: SipRequest, res: SipResponse): Promise<void> {
    const n = ++this.calls;
    let cancelled = false;
    req.on('cancel', () => (cancelled = true));
    const owner = this.owner;
    const overflow = this.opts.nodes.find((node) => node !== owner) as IpbxNode;
    if (owner) {
      const first = await this.attempt(req, owner);
      if (first.kind === 'answered') return this.connect(n, req, res, owner, first.dialog, `call ${n} → ${owner.name} (owner): answered by ${owner.app}`);
      this.narrate(`call ${n} → ${owner.name} (owner): ${describe(first)}`);
      if (first.kind === 'failed' && !OVERFLOW_ON.has(first.status)) return void res.send(first.status);
    } else this.narrate(`call ${n}: nobody registered for appsrv`);
    if (cancelled) return;
    const second = await this.attempt(req, overflow);
    if (second.kind === 'answered') return this.connect(n, req, res, overflow, second.dialog, `call ${n} → overflow to ${overflow.name}: answered by ${overflow.app}`);
    const dissuaded = second.kind === 'failed' && owner !== null;
    this.narrate(`call ${n} → overflow to ${overflow.name}: ${describe(second)}${dissuaded ? ` (dissuaded: ${overflow.name} found ${owner.name} alive)` : ''}`);
    if (!dissuaded) return void res.send(second.kind === 'failed' ? second.status : 408);
    // Dissuasion: the owner is alive but busy; the IPBX queue offers the call to it again.
    let last: Exclude<Attempt, { kind: 'answered' }> = second;
    for (let i = 1; i <= this.opts.returnTries && !cancelled; i++) {
      await sleep(this.opts.returnDelayMs);
      const target = this.owner ?? owner;
      const again = await this.attempt(req, target);
      if (again.kind === 'answered') return this.connect(n, req, res, target, again.dialog, `call ${n} → back to ${target.name} (owner), try ${i}: answered by ${target.app}`);
      this.narrate(`call ${n} → back to ${target.name} (owner), try ${i}: ${describe(again)}`);
      last = again;
    }
    if (!cancelled) res.send(last.kind === 'failed' ? last.status : 408);
  }

  /** Answers the caller with the answering leg's SDP and pairs the two legs' hang-ups. */
  private async connect(n: number, req: SipRequest, res: SipResponse, node: IpbxNode, uac: Dialog, line: string): Promise<void> {
    this.narrate(line);
    const started = Date.now();
    let uas: Dialog;
    try {
      uas = await this.srf.createUAS(req, res, { localSdp: uac.remote.sdp });
    } catch {
      await uac.destroy();
      return;
    }
    uas.on('destroy', () => {
      this.narrate(`call ${n} ended: the caller hung up after ${((Date.now() - started) / 1000).toFixed(1)} s, on ${node.name} to the end`);
      void Promise.resolve(uac.destroy()).catch(() => undefined);
    });
    uac.on('destroy', () => {
      this.narrate(`call ${n} ended by ${node.name}`);
      void Promise.resolve(uas.destroy()).catch(() => undefined);
    });
  }

  /**
   * One INVITE to `node`, given up after `noAnswerMs`. An attempt given up on
   * may still be answered later: that late leg is hung up at once.
   */
  private attempt(req: SipRequest, node: IpbxNode): Promise<Attempt> {
    return new Promise((resolve) => {
      let done = false;
      let sent: { cancel(): void } | null = null;
      const finish = (a: Attempt) => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        resolve(a);
        return true;
      };
      const timer = setTimeout(() => {
        if (finish({ kind: 'no-answer' })) sent?.cancel();
      }, this.opts.noAnswerMs);
      const progress = {
        cbRequest: ((err: unknown, r?: { cancel(): void }) => {
          if (!err && r) sent = r;
        }) as unknown as (r: SipRequest) => void,
      };
      this.srf
        .createUAC(node.uri, { localSdp: req.body, headers: { From: '<sip:caller@ipbx.demo>', To: '<sip:appsrv@ipbx.demo>' } }, progress)
        .then(
          (dialog) => {
            if (!finish({ kind: 'answered', dialog })) void Promise.resolve(dialog.destroy()).catch(() => undefined);
          },
          (err: unknown) => finish({ kind: 'failed', status: failureStatus(err) ?? 503 }),
        );
    });
  }
}
