/**
 * Operations on one mirror session, address maps, topology and the whole
 * configuration, for the API routes (and through them the CLI). Each builds
 * the next policy section from the one in force and hands it to the policy
 * service's applyPolicy: one way in, checked and compiled once, installed
 * while traffic flows, persisted, and nothing changes on failure.
 *
 * A disabled session stays in the policy (`enabled: false`, its definition
 * and counter slot kept) and is left out of the compiled policy.
 */
import { policySection, validateConfig } from '../config/load.js';
import { POLICY_KEYS, type Config } from '../config/schema.js';
import { exportShadowTopology, parseTopology, type ShadowTopology } from '../config/topology.js';
import { stError } from '../errors.js';
import { policyHash } from './policy-state.js';
import type { PolicyOperations, PolicyView } from './policy.js';

type Obj = Record<string, unknown>;

/** What session operations need: the policy operations and the configuration in force. */
export type SessionHost = Pick<PolicyOperations, 'policyView' | 'sessionStats' | 'applyPolicy' | 'configInForce'>;

export interface SessionDetail {
  generation: number;
  enabled: boolean;
  /** the session as the policy holds it */
  session: Obj;
  /** its counters while it is compiled in (null: disabled) */
  counters: Obj | null;
}

const clone = <T>(v: T): T => structuredClone(v) as T;

function sessionsOf(view: PolicyView): Obj[] | undefined {
  const s = (view.policy as Obj)['sessions'];
  return Array.isArray(s) ? (clone(s) as Obj[]) : undefined;
}

function notFound(id: number, view: PolicyView): Error {
  const list = sessionsOf(view);
  const known = list?.map((s) => s['id']).join(', ');
  return stError(
    'ST_ERR_NOT_FOUND',
    list === undefined
      ? `no session ${id}: the policy has no sessions section (its one default session mirrors everything); add one first`
      : `no session ${id}; the policy has ${list.length === 0 ? 'no sessions' : `session${list.length === 1 ? '' : 's'} ${known}`}`,
  );
}

function withSessions(view: PolicyView, sessions: Obj[]): Obj {
  return { ...clone(view.policy as Obj), sessions };
}

function sessionId(raw: unknown): number {
  const id = typeof raw === 'string' && /^[0-9]{1,10}$/.test(raw) ? Number(raw) : raw;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 4294967295) {
    throw stError('ST_ERR_BAD_REQUEST', `session id "${String(raw)}": expected an integer from 1 to 4294967295`);
  }
  return id;
}

export function getSession(host: SessionHost, rawId: unknown): SessionDetail {
  const id = sessionId(rawId);
  const view = host.policyView();
  const s = sessionsOf(view)?.find((x) => x['id'] === id);
  if (!s) throw notFound(id, view);
  const c = host.sessionStats().sessions.find((x) => x.id === id);
  return { generation: view.generation, enabled: s['enabled'] !== false, session: s, counters: c ? (clone(c) as unknown as Obj) : null };
}

function bodyObject(body: unknown, what: string): Obj {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw stError('ST_ERR_BAD_REQUEST', `${what}: expected a JSON object, got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`);
  }
  return body as Obj;
}

/** Add a session; its id must be new (409 otherwise). */
export async function addSession(host: SessionHost, body: unknown): Promise<SessionDetail> {
  const def = bodyObject(body, 'session');
  const view = host.policyView();
  const list = sessionsOf(view) ?? [];
  if (def['id'] === undefined) throw stError('ST_ERR_BAD_REQUEST', 'session.id: missing; expected an integer from 1 to 4294967295, unique in the policy');
  const id = sessionId(def['id']);
  if (list.some((s) => s['id'] === id)) throw stError('ST_ERR_CONFLICT', `session ${id} already exists; expected a new id (PUT /v1/sessions/${id} replaces it)`);
  await host.applyPolicy(withSessions(view, [...list, clone(def)]));
  return getSession(host, id);
}

/** Replace a session's definition; the body's id, if given, must be the path's. */
export async function updateSession(host: SessionHost, rawId: unknown, body: unknown): Promise<SessionDetail> {
  const id = sessionId(rawId);
  const def = bodyObject(body, 'session');
  if (def['id'] !== undefined && def['id'] !== id) throw stError('ST_ERR_BAD_REQUEST', `session.id: ${String(def['id'])} differs from the id in the path (${id}); expected the same id or none`);
  const view = host.policyView();
  const list = sessionsOf(view);
  const i = list?.findIndex((s) => s['id'] === id) ?? -1;
  if (!list || i < 0) throw notFound(id, view);
  list[i] = { ...clone(def), id };
  await host.applyPolicy(withSessions(view, list));
  return getSession(host, id);
}

/** Remove a session; removing the last one leaves `sessions: []` (nothing mirrored), not the default session. */
export async function removeSession(host: SessionHost, rawId: unknown): Promise<PolicyView> {
  const id = sessionId(rawId);
  const view = host.policyView();
  const list = sessionsOf(view);
  if (!list || !list.some((s) => s['id'] === id)) throw notFound(id, view);
  return host.applyPolicy(withSessions(view, list.filter((s) => s['id'] !== id)));
}

/** Enable or disable a session, keeping its definition; idempotent. */
export async function setSessionEnabled(host: SessionHost, rawId: unknown, enabled: boolean): Promise<SessionDetail> {
  const id = sessionId(rawId);
  const view = host.policyView();
  const list = sessionsOf(view);
  const i = list?.findIndex((s) => s['id'] === id) ?? -1;
  if (!list || i < 0) throw notFound(id, view);
  const s = list[i]!;
  if ((s['enabled'] !== false) === enabled) return getSession(host, id);
  if (enabled) delete s['enabled'];
  else s['enabled'] = false;
  await host.applyPolicy(withSessions(view, list));
  return getSession(host, id);
}

// ---- address maps ------------------------------------------------------------------

/** The translate section in force. */
export function exportMaps(host: SessionHost): { generation: number; translate: Obj } {
  const view = host.policyView();
  return { generation: view.generation, translate: clone(((view.policy as Obj)['translate'] ?? {}) as Obj) };
}

/** Replace the translate section (every map checked: docs/policy.md). */
export async function importMaps(host: SessionHost, body: unknown): Promise<PolicyView> {
  const translate = bodyObject(body, 'translate');
  const view = host.policyView();
  return host.applyPolicy({ ...clone(view.policy as Obj), translate: clone(translate) });
}

// ---- topology ----------------------------------------------------------------------

/** A production topology's shadow replica, translated by the maps in force. */
export function exportTopology(host: SessionHost, body: unknown): ShadowTopology {
  return exportShadowTopology(parseTopology(body, 'body'), host.configInForce());
}

/** Import a production topology's security rules, translated, as the policy's security section. */
export async function importTopology(host: SessionHost, body: unknown, enforce: boolean): Promise<PolicyView> {
  const shadow = exportTopology(host, body);
  const view = host.policyView();
  const current = ((view.policy as Obj)['security'] ?? {}) as Obj;
  const security = { ...clone(current), ...clone(shadow.security as unknown as Obj), enforce };
  return host.applyPolicy({ ...clone(view.policy as Obj), security });
}

// ---- the whole configuration -------------------------------------------------------

/** The configuration in force: the file's, with the policy as last applied. */
export function exportConfig(host: SessionHost): Obj {
  return clone(host.configInForce() as unknown as Obj);
}

/**
 * Import a whole configuration: its policy keys are applied live; every other
 * key must equal the one in force (ports, EAL, the API itself need a
 * restart), or the import is refused (409) naming the first that differs.
 */
export async function importConfig(host: SessionHost, body: unknown): Promise<PolicyView> {
  const raw = bodyObject(body, 'config');
  const current = host.configInForce() as unknown as Obj;
  // Check it as a whole configuration first: every problem, with its field.
  const full = validateConfig(raw, { source: 'body' }) as unknown as Obj;
  for (const key of Object.keys({ ...current, ...full })) {
    if ((POLICY_KEYS as readonly string[]).includes(key)) continue;
    // Key order does not matter (an exported file may list keys sorted).
    if (policyHash(full[key] ?? null) !== policyHash(current[key] ?? null)) {
      throw stError('ST_ERR_CONFLICT', `${key}: differs from the running configuration; only the policy keys (${POLICY_KEYS.join(', ')}) change without a restart: restart shadowtap with the new file to change ${key}`);
    }
  }
  return host.applyPolicy(policySection(full as unknown as Config));
}
