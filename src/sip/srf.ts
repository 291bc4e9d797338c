/**
 * The one place that knows drachtio-srf's shapes. Its bundled typings are
 * incomplete (srf.request's signature is wrong, the app's socket map is not
 * declared), so every cast to them lives here and nowhere else.
 */
import Srf from 'drachtio-srf';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export type SipRequest = Srf.SrfRequest;
export type SipResponse = Srf.SrfResponse;
export type Dialog = Srf.Dialog;
export type { Srf };

export interface FinalResponse {
  readonly status: number;
  readonly reason: string;
  header(name: string): string | undefined;
}

export interface OutboundRequest {
  readonly method: 'OPTIONS' | 'REGISTER';
  readonly headers?: Readonly<Record<string, string>>;
  readonly auth?: { readonly username: string; readonly password: string };
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  readonly retryMaxDelayMs: number;
  readonly pingIntervalMs: number;
}

/** What drachtio-srf's request object emits for a transaction outside a dialog. */
interface SentRequest {
  on(event: 'response', cb: (res: SipResponse) => void): void;
}

interface SrfInternals {
  request(
    uri: string,
    opts: { method: string; headers?: Record<string, string>; auth?: { username: string; password: string } },
    callback: (err: Error | null, sent?: SentRequest) => void,
  ): unknown;
  connect(opts: {
    host: string;
    port: number;
    secret: string;
    reconnect: { retryMaxDelay: number };
    enablePing: boolean;
    pingInterval: number;
  }): void;
  _app: { client?: AgentInternals };
}

/** drachtio-srf's agent: one entry per drachtio-server connection, and its wire protocol. */
interface AgentInternals {
  mapServer?: Map<Socket, { pendingPingRequests?: Set<string>; authenticated?: boolean; serverVersion?: string | null }>;
  wp?: {
    on(event: 'ping', cb: (sent: { msgId: string; socket: Socket }) => void): void;
    /** The connections drachtio-srf pings, each with its interval timer. */
    mapTimerPing?: Map<Socket, unknown>;
    startPinging?(socket: Socket): void;
  };
}

/** Connection events drachtio-srf re-emits but does not declare. */
export function onConnectionEvent(srf: Srf, event: 'close', cb: () => void): void;
export function onConnectionEvent(srf: Srf, event: 'reconnecting', cb: (info: { delay: number; attempt: number }) => void): void;
export function onConnectionEvent(srf: Srf, event: string, cb: (info: { delay: number; attempt: number }) => void): void {
  (srf as unknown as NodeJS.EventEmitter).on(event, cb);
}

function internals(srf: Srf): SrfInternals {
  return srf as unknown as SrfInternals;
}

/** drachtio-srf's connections to drachtio-server, with their ping bookkeeping. */
function serverConnections(srf: Srf): NonNullable<AgentInternals['mapServer']> {
  return internals(srf)._app.client?.mapServer ?? new Map();
}

/**
 * Requests handed to drachtio-server that it has not yet acknowledged (it echoes
 * each one back once sent), with when they were handed over. A server that
 * stopped reading (frozen, or its host hung) acknowledges nothing: everything
 * written to it piles up in the socket and is replayed, stale, when it thaws.
 * drachtio-server also mishandles that replay when the connection was dropped
 * meanwhile: it can keep the dead connection as a route for new INVITEs, which
 * are then lost. So once a request goes unacknowledged for a while, no more are
 * written until the server acknowledges again or the connection is replaced.
 */
const unacknowledged = new WeakMap<Srf, Map<number, number>>();
let requestSeq = 0;
export const ACK_STALL_MS = 1000;

function pendingOf(srf: Srf): Map<number, number> {
  let pending = unacknowledged.get(srf);
  if (!pending) unacknowledged.set(srf, (pending = new Map()));
  return pending;
}

/** How long the oldest unacknowledged request has waited, in ms (0 when none). */
export function acknowledgementLag(srf: Srf): number {
  // A Map iterates in insertion order, so the first entry is the oldest.
  const oldest = pendingOf(srf).values().next();
  return oldest.done ? 0 : performance.now() - oldest.value;
}

export function createSrf(): Srf {
  return new Srf();
}

/** drachtio-srf refuses a ping interval below 5 s. */
export const pingIntervalOf = (opts: ConnectOptions): number => Math.max(5000, opts.pingIntervalMs);

/**
 * Connects with a capped reconnect back-off and drachtio's app-level ping
 * (drachtio-srf's ping interval cannot go below 5 s). False when this
 * drachtio-srf no longer has the shape the ping bookkeeping relies on.
 */
export function connectSrf(srf: Srf, opts: ConnectOptions, onPing: () => void = () => undefined): boolean {
  // What the previous connection never acknowledged will not be acknowledged now.
  srf.on('connect', () => pendingOf(srf).clear());
  internals(srf).connect({
    host: opts.host,
    port: opts.port,
    secret: opts.secret,
    reconnect: { retryMaxDelay: opts.retryMaxDelayMs },
    enablePing: true,
    pingInterval: pingIntervalOf(opts),
  });
  // drachtio-srf 5.0 emits every ping it sends on its wire protocol, but nothing
  // adds it to the connection's pending set (the agent's handler for it is never
  // attached), so the set stays empty and a silent server goes unnoticed. Record
  // each ping where the agent's pong handling already removes it.
  const client = internals(srf)._app.client;
  if (!client?.wp || !client.mapServer) return false;
  client.wp.on('ping', ({ msgId, socket }) => {
    client.mapServer?.get(socket)?.pendingPingRequests?.add(msgId);
    onPing();
  });
  return true;
}

/**
 * drachtio-srf starts its pings only on a server whose version string reads
 * vX.Y.Z; a drachtio-server built outside a git checkout reports `1.0.0` and
 * is never pinged, so its silence would go unnoticed. Starts drachtio-srf's own
 * ping timer on every authenticated connection that has none, and returns the
 * version string each of those servers reported.
 */
export function startMissingPings(srf: Srf): string[] {
  const client = internals(srf)._app.client;
  const wp = client?.wp;
  if (!client?.mapServer || !wp?.mapTimerPing || !wp.startPinging) return [];
  const versions: string[] = [];
  for (const [socket, state] of client.mapServer) {
    if (!state.authenticated || socket.destroyed || wp.mapTimerPing.has(socket)) continue;
    wp.startPinging(socket);
    versions.push(state.serverVersion ?? '(none)');
  }
  return versions;
}

/**
 * drachtio-srf sends pings but never acts on missing pongs, so a connection that
 * died silently (no FIN, no RST) would look alive until TCP gives up minutes later.
 * The most pings outstanding on any connection to drachtio-server.
 */
export function unansweredPings(srf: Srf): number {
  let most = 0;
  for (const state of serverConnections(srf).values()) most = Math.max(most, state.pendingPingRequests?.size ?? 0);
  return most;
}

/** Closes every connection to drachtio-server, which makes drachtio-srf reconnect. */
export function closeConnections(srf: Srf, reason: string): void {
  for (const socket of serverConnections(srf).keys()) socket.destroy(new Error(reason));
}

/**
 * Sends a request outside any dialog and resolves with its final response.
 * Rejects when drachtio-server refuses to send it. May never settle when the
 * far end is silent until the stack's Timer F: callers apply their own timeout.
 */
export async function sendRequest(srf: Srf, uri: string, req: OutboundRequest): Promise<FinalResponse> {
  // drachtio-srf asserts (throws an AssertionError) when it has no connection; say what it means.
  if (serverConnections(srf).size === 0) throw new Error('not connected to drachtio-server');
  const lag = acknowledgementLag(srf);
  if (lag > ACK_STALL_MS) throw new Error(`drachtio-server has acknowledged nothing for ${Math.round(lag)} ms; not sending`);
  const pending = pendingOf(srf);
  const id = ++requestSeq;
  pending.set(id, performance.now());
  return new Promise((resolve, reject) => {
    // The callback form, not the promise: drachtio-server often sends the echo of
    // the sent request and a fast final response in one TCP read, and drachtio-srf
    // emits 'response' synchronously after this callback. A listener attached after
    // an `await` would miss it, and the response would be lost.
    internals(srf).request(
      uri,
      {
        method: req.method,
        ...(req.headers ? { headers: { ...req.headers } } : {}),
        ...(req.auth ? { auth: { ...req.auth } } : {}),
      },
      (err, sent) => {
        pending.delete(id);
        if (err || !sent) return reject(err ?? new Error('drachtio-srf gave no request'));
        sent.on('response', (res) => {
          if (res.status < 200) return;
          resolve({
            status: res.status,
            reason: res.reason,
            header: (name) => (res.has(name) ? res.get(name) : undefined),
          });
        });
      },
    );
  });
}

export function header(msg: Srf.SipMessage, name: string): string | undefined {
  return msg.has(name) ? msg.get(name) : undefined;
}

export interface BridgeOptions {
  /** Headers to set on the B leg. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Headers copied from the caller's INVITE to the B leg. */
  readonly copyHeaders?: readonly string[];
  /** Called once the B-leg INVITE is on the wire, with a way to cancel it. */
  readonly onSent?: (cancel: () => void) => void;
}

/**
 * drachtio-srf's B2BUA: the caller's offer goes to `target`, provisional and
 * failure responses come back, a CANCEL from the caller is relayed. Rejects with
 * the B leg's failure (already relayed to the caller).
 */
export function createBridge(
  srf: Srf,
  req: SipRequest,
  res: SipResponse,
  target: string,
  opts: BridgeOptions,
): Promise<{ uas: Dialog; uac: Dialog }> {
  const onSent = opts.onSent;
  const progress = {
    cbRequest: ((err: unknown, uacReq?: { cancel(): void }) => {
      if (!err && uacReq && onSent) onSent(() => uacReq.cancel());
    }) as unknown as (req: SipRequest) => void,
  };
  return srf.createB2BUA(
    req,
    res,
    target,
    {
      localSdpB: req.body,
      passFailure: true,
      passProvisionalResponses: true,
      headers: { ...(opts.headers ?? {}) },
      proxyRequestHeaders: [...(opts.copyHeaders ?? [])],
    },
    progress,
  );
}

/**
 * drachtio-srf's Dialog as it behaves: its typings declare destroy() void (it
 * returns a promise) and omit `connected`, and modify() without an offer
 * resolves with the far end's offer and a way to send the ACK carrying ours.
 */
interface DialogInternals {
  connected: boolean;
  destroy(): Promise<unknown>;
  modify(opts: { noAck: true }): Promise<{ sdp: string; ack(sdp: string): void }>;
  request(opts: { method: string; headers: Record<string, string>; body?: string }): Promise<SipResponse>;
}

function dialogInternals(dialog: Dialog): DialogInternals {
  return dialog as unknown as DialogInternals;
}

/**
 * Sends BYE on `dialog`. Rejects when drachtio-server no longer knows the dialog
 * (its far end hung up at the same moment) or the connection was replaced.
 */
export async function hangUp(dialog: Dialog): Promise<void> {
  await dialogInternals(dialog).destroy();
}

/**
 * True once the dialog is over. drachtio-srf handles a BYE synchronously, so one
 * that arrives in the same read as the 200's confirmation ends the dialog before
 * whoever awaited the dialog could listen for 'destroy'.
 */
export function hasEnded(dialog: Dialog): boolean {
  return !dialogInternals(dialog).connected;
}

/** A request or response relayed from one leg to the other: only what the far end needs. */
export interface RelayedMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface RelayedReply extends RelayedMessage {
  readonly status: number;
  readonly reason: string;
}

/** Headers that say what an in-dialog body is (RFC 6086 Info-Package for INFO). */
const BODY_HEADERS = ['Content-Type', 'Info-Package'] as const;

function relayedPart(msg: Srf.SipMessage): RelayedMessage {
  const headers: Record<string, string> = {};
  for (const name of BODY_HEADERS) {
    const value = header(msg, name);
    if (value !== undefined) headers[name] = value;
  }
  return msg.body ? { headers, body: msg.body } : { headers };
}

/** Sends INFO or UPDATE inside `dialog` with `req`'s body and resolves with the far end's response. */
export async function forwardInDialog(dialog: Dialog, method: 'INFO' | 'UPDATE', req: SipRequest): Promise<RelayedReply> {
  const part = relayedPart(req);
  const res = await dialogInternals(dialog).request({ method, headers: { ...part.headers }, ...(part.body ? { body: part.body } : {}) });
  return { status: res.status, reason: res.reason, ...relayedPart(res) };
}

/** Answers `res` with what the other leg answered. */
export function sendRelayed(res: SipResponse, answer: RelayedReply): void {
  res.send(answer.status, answer.reason, { headers: { ...answer.headers }, ...(answer.body ? { body: answer.body } : {}) });
}

/** Calls `cb` with the SDP of the next ACK on `dialog` (drachtio-srf's typings give it as a response). */
export function onNextAck(dialog: Dialog, cb: (sdp: string) => void): void {
  dialog.once('ack', (ack) => cb(ack.body));
}

/**
 * Sends a re-INVITE without SDP (late offer) inside `dialog`: resolves with the
 * far end's offer and the ACK to send, which must carry the answer to it.
 */
export function reinviteWithoutOffer(dialog: Dialog): Promise<{ sdp: string; ack(answer: string): void }> {
  return dialogInternals(dialog).modify({ noAck: true });
}

/** The status of a B2BUA failure as drachtio-srf reports it. */
export function failureStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number') return err.status;
  return undefined;
}

export type RequestHandler = (req: SipRequest, res: SipResponse) => void;

/** Asks drachtio-server to route `method` here (it answers 503 itself for methods no app registered). */
export function onRequest(srf: Srf, method: 'invite' | 'options' | 'refer' | 'register' | 'subscribe' | 'message' | 'publish' | 'notify' | 'info' | 'update', handler: RequestHandler): void {
  srf.use(method, (req, res) => handler(req, res));
}

/** Sends a final response; the standard reason phrase when `reason` is omitted. */
export function reply(res: SipResponse, status: number, reason?: string, headers: Readonly<Record<string, string>> = {}): void {
  if (reason === undefined) res.send(status, { headers: { ...headers } });
  else res.send(status, reason, { headers: { ...headers } });
}
