/**
 * The one error catalogue. Every error shadowtap raises on purpose has a code
 * here, an HTTP status (what the admin API answers when the error reaches a
 * client) and a one-line meaning. docs/errors.md lists the same codes; a test
 * keeps both in step.
 *
 * Native errors cross the child-process channel as WireError {code, field,
 * message, errnum} and are turned back into these classes by fromWire().
 */
import createError from '@fastify/error';
import type { WireError } from './dataplane/protocol.js';

export interface CatalogueEntry {
  code: string;
  status: number;
  meaning: string;
}

/** Order here is the order in docs/errors.md. */
export const CATALOGUE = [
  // configuration and start-up
  { code: 'ST_ERR_CONFIG_INVALID', status: 400, meaning: 'The configuration does not validate; every problem is listed with its field path and what was expected.' },
  { code: 'ST_ERR_CONFIG_READ', status: 500, meaning: 'The configuration file could not be read (missing, unreadable); YAML syntax errors are ST_ERR_CONFIG_INVALID problems.' },
  { code: 'ST_ERR_RUN_DIR', status: 500, meaning: 'The run directory (captures, pid file, state) or the demo capture in it could not be prepared.' },
  { code: 'ST_ERR_PROFILE_INVALID', status: 500, meaning: 'A hardware profile in hw-profiles/ (or the rte_flow vocabulary) does not validate; every problem names the file and field.' },
  { code: 'ST_ERR_FIRMWARE_CONFIG_INVALID', status: 500, meaning: 'An entry in firmware-config/ does not validate; every problem names the file and field.' },
  { code: 'ST_ERR_API_LISTEN', status: 500, meaning: 'The admin API could not listen on the configured host and port.' },
  { code: 'ST_ERR_API_INSECURE', status: 500, meaning: 'The admin API would listen on a non-loopback address (api.host) with no token (api.tokens_file, or the variable api.tokens_env names): refused, nothing was started.' },
  { code: 'ST_ERR_API_CREDENTIALS', status: 500, meaning: 'The API tokens (api.tokens_file, api.tokens_env) or the TLS files (api.tls) cannot be read or do not parse; the message names the file or variable and the line.' },
  { code: 'ST_ERR_STATE_CORRUPT', status: 500, meaning: 'The saved desired state (run_dir/state/policy.json) cannot be read, does not parse or does not validate against the configuration: nothing was started. `shadowtap run --discard-state` keeps a copy of the file and starts from the configuration file. Saved alert rules (run_dir/state/alerts.json) that cannot be used stop the start too; the message names the file and the rule.' },
  // native addon and EAL
  { code: 'ST_ERR_ADDON_LOAD', status: 503, meaning: 'The native addon (shadowtap.node) could not be loaded; the message lists every path tried and why.' },
  { code: 'ST_ERR_EAL_INIT', status: 500, meaning: "DPDK's EAL refused to initialise (bad EAL argument, unknown vdev, no memory); the message quotes EAL." },
  { code: 'ST_ERR_EAL_ALREADY', status: 500, meaning: 'EAL was already initialised in this data-plane process; it can be initialised once per process.' },
  { code: 'ST_ERR_EAL_NOT_READY', status: 500, meaning: 'A data-plane call needs EAL, but EAL is not initialised (or was cleaned up) in that process.' },
  { code: 'ST_ERR_EAL_CLEANUP', status: 500, meaning: 'rte_eal_cleanup failed while the data-plane process was shutting down.' },
  { code: 'ST_ERR_NOT_MAIN_LCORE', status: 500, meaning: 'A call that must run on the EAL main lcore (the thread that initialised EAL) ran on another thread.' },
  // the plan and the ports
  { code: 'ST_ERR_PLAN_INVALID', status: 422, meaning: 'The compiled plan breaks an invariant (too many ports, bad core id, bad index) and was not applied.' },
  { code: 'ST_ERR_LCORE_UNAVAILABLE', status: 422, meaning: 'A worker lcore is not enabled in EAL, is the main lcore or an EAL service lcore, or is already busy.' },
  { code: 'ST_ERR_PORT_NOT_FOUND', status: 422, meaning: 'A configured port device did not appear as an ethdev after EAL init.' },
  { code: 'ST_ERR_PORT_QUEUES', status: 422, meaning: 'A port does not offer the rx/tx queues or descriptors the plan needs.' },
  { code: 'ST_ERR_PORT_CONFIG', status: 500, meaning: 'A driver call configuring or starting one port failed (configure, queue setup, start, promiscuous).' },
  { code: 'ST_ERR_PORT_SETUP', status: 500, meaning: 'Setting up the ports failed for a reason not tied to one driver call.' },
  { code: 'ST_ERR_NOMEM', status: 500, meaning: 'A mempool or table (pools, map tables, classifier) could not be allocated: EAL memory (-m, dataplane.eal.memory_mb) is too small; the message names the settings to change.' },
  { code: 'ST_ERR_MAP_COMPILE', status: 422, meaning: 'The address translation maps could not be compiled into lookup tables.' },
  { code: 'ST_ERR_REWRITE', status: 500, meaning: 'The rewrite tables (MACs, prefixes, checksum deltas) could not be compiled.' },
  { code: 'ST_ERR_LAUNCH', status: 500, meaning: 'The worker lcores could not be launched.' },
  { code: 'ST_ERR_BUSY', status: 409, meaning: 'A data-plane start or stop is still in progress; the call can be retried once it finishes.' },
  { code: 'ST_ERR_STATE', status: 409, meaning: 'The operation is not possible in the current data-plane state (for example launch before setup, start while running).' },
  // the data-plane child process
  { code: 'ST_ERR_DATAPLANE_EXIT', status: 500, meaning: 'The data-plane child process exited (crash, signal or error) before it could answer.' },
  { code: 'ST_ERR_DATAPLANE_STATE', status: 409, meaning: 'The data-plane process got a request its phase does not allow (one start per process; nothing after stop).' },
  { code: 'ST_ERR_DATAPLANE_TIMEOUT', status: 504, meaning: 'The data-plane child process did not answer a request in time.' },
  { code: 'ST_ERR_PROTOCOL', status: 500, meaning: 'A message between the supervisor and the data-plane process is not the protocol (not an object, an unknown type, a field missing or of the wrong type, the wrong answer to a request); the message names the field. A child that sends one is killed and restarted.' },
  { code: 'ST_ERR_NOT_READY', status: 503, meaning: 'The data plane is not running (starting, backing off after a crash, failed or stopped).' },
  // the mirror policy
  { code: 'ST_ERR_POLICY_INVALID', status: 400, meaning: 'The policy does not validate or cannot be compiled (bad CIDR, range, signature, unknown port or target, a rule that can never match, limits); every problem is listed with its field path. The running policy is untouched.' },
  { code: 'ST_ERR_POLICY_COMPILE', status: 422, meaning: "The data plane could not build the policy's tables (classifier, lookup tables, MAC maps); the running policy is untouched." },
  { code: 'ST_ERR_ENCAP', status: 422, meaning: "A target's encapsulation header (VLAN, VXLAN, GENEVE) could not be built; the field names the target." },
  { code: 'ST_ERR_STATE_SAVE', status: 500, meaning: 'The last good policy could not be saved under run_dir/state/; the data plane keeps the new policy, but it will not survive a restart of shadowtap. Alert rules that cannot be saved (run_dir/state/alerts.json) are not changed at all.' },
  { code: 'ST_ERR_FAULT_INVALID', status: 400, meaning: 'A fault description does not validate (a negative or absurd time, a percentage outside 0 to 100, an end before a start, an unknown port or session, a distribution table that is not a distribution, a delay the delay line cannot hold at the configured rate, netem text tc would refuse); every problem is listed with its field path. Nothing is changed.' },
  { code: 'ST_ERR_TOPOLOGY_INVALID', status: 400, meaning: 'A production topology description does not validate, or an address in it cannot be translated; every problem is listed with its field path.' },
  { code: 'ST_ERR_ALERT_INVALID', status: 400, meaning: 'An alert rule does not validate (a name, severity or condition outside what is allowed, an expression that does not parse, naming the position and what was expected, a for-duration or window over an hour, a duplicate name); every problem is listed with its field path. The rules in force are untouched.' },
  // the admin API
  { code: 'ST_ERR_BAD_REQUEST', status: 400, meaning: 'An API request failed validation (body, query or parameters); the message says which field.' },
  { code: 'ST_ERR_NOT_FOUND', status: 404, meaning: 'No such API route or resource.' },
  { code: 'ST_ERR_CONFLICT', status: 409, meaning: 'The request conflicts with the state in force: a session id that already exists, or a configuration import that changes keys only a restart can change (ports, EAL, API); the message names the field.' },
  { code: 'ST_ERR_UNAUTHORIZED', status: 401, meaning: 'The request carries no bearer token, or one that is not configured (Authorization: Bearer TOKEN).' },
  { code: 'ST_ERR_FORBIDDEN', status: 403, meaning: "The token's role does not allow the request: a read token may only read (GET, and dry runs such as POST /v1/policy/validate)." },
  { code: 'ST_ERR_PRECONDITION_FAILED', status: 412, meaning: 'If-Match names a version (ETag) of the resource that is no longer current: someone changed it since it was read; nothing changed.' },
  { code: 'ST_ERR_PAYLOAD_TOO_LARGE', status: 413, meaning: 'The request body is larger than api.body_limit bytes.' },
  { code: 'ST_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415, meaning: 'The request body is not application/json.' },
  { code: 'ST_ERR_PRECONDITION_REQUIRED', status: 428, meaning: 'The write must say which version it replaces: send If-Match with the ETag from the last GET (or If-Match: * to replace whatever is current).' },
  { code: 'ST_ERR_RATE_LIMITED', status: 429, meaning: 'The client (its token, or its address without one) sent more requests than api.rate_limit allows; Retry-After says when to try again.' },
  { code: 'ST_ERR_INTERNAL', status: 500, meaning: 'An unexpected internal error, or a native error code missing from this catalogue.' },
] as const satisfies readonly CatalogueEntry[];

export type ErrorCode = (typeof CATALOGUE)[number]['code'];

/** Every shadowtap error carries these beyond a FastifyError's code and statusCode. */
export interface ShadowtapError extends Error {
  code: ErrorCode;
  statusCode: number;
  /** the config or plan field that caused it, '' if none */
  field: string;
  /** rte_errno / errno behind it, 0 if none */
  errnum: number;
}

type Ctor = createError.FastifyErrorConstructor<{ code: string; statusCode: number }, [string, { cause: unknown }?]>;

// The message is always written by the thrower: '%s' keeps @fastify/error's
// format() from eating '%' characters in EAL's own text.
const BY_CODE = Object.fromEntries(
  CATALOGUE.map((e) => [e.code, createError(e.code, '%s', e.status) as unknown as Ctor]),
) as Record<ErrorCode, Ctor>;

export const ST_ERR_CONFIG_INVALID = BY_CODE.ST_ERR_CONFIG_INVALID;
export const ST_ERR_CONFIG_READ = BY_CODE.ST_ERR_CONFIG_READ;
export const ST_ERR_RUN_DIR = BY_CODE.ST_ERR_RUN_DIR;
export const ST_ERR_PROFILE_INVALID = BY_CODE.ST_ERR_PROFILE_INVALID;
export const ST_ERR_FIRMWARE_CONFIG_INVALID = BY_CODE.ST_ERR_FIRMWARE_CONFIG_INVALID;
export const ST_ERR_API_LISTEN = BY_CODE.ST_ERR_API_LISTEN;
export const ST_ERR_API_INSECURE = BY_CODE.ST_ERR_API_INSECURE;
export const ST_ERR_API_CREDENTIALS = BY_CODE.ST_ERR_API_CREDENTIALS;
export const ST_ERR_STATE_CORRUPT = BY_CODE.ST_ERR_STATE_CORRUPT;
export const ST_ERR_ADDON_LOAD = BY_CODE.ST_ERR_ADDON_LOAD;
export const ST_ERR_EAL_INIT = BY_CODE.ST_ERR_EAL_INIT;
export const ST_ERR_EAL_ALREADY = BY_CODE.ST_ERR_EAL_ALREADY;
export const ST_ERR_EAL_NOT_READY = BY_CODE.ST_ERR_EAL_NOT_READY;
export const ST_ERR_EAL_CLEANUP = BY_CODE.ST_ERR_EAL_CLEANUP;
export const ST_ERR_NOT_MAIN_LCORE = BY_CODE.ST_ERR_NOT_MAIN_LCORE;
export const ST_ERR_PLAN_INVALID = BY_CODE.ST_ERR_PLAN_INVALID;
export const ST_ERR_LCORE_UNAVAILABLE = BY_CODE.ST_ERR_LCORE_UNAVAILABLE;
export const ST_ERR_PORT_NOT_FOUND = BY_CODE.ST_ERR_PORT_NOT_FOUND;
export const ST_ERR_PORT_QUEUES = BY_CODE.ST_ERR_PORT_QUEUES;
export const ST_ERR_PORT_CONFIG = BY_CODE.ST_ERR_PORT_CONFIG;
export const ST_ERR_PORT_SETUP = BY_CODE.ST_ERR_PORT_SETUP;
export const ST_ERR_NOMEM = BY_CODE.ST_ERR_NOMEM;
export const ST_ERR_MAP_COMPILE = BY_CODE.ST_ERR_MAP_COMPILE;
export const ST_ERR_REWRITE = BY_CODE.ST_ERR_REWRITE;
export const ST_ERR_LAUNCH = BY_CODE.ST_ERR_LAUNCH;
export const ST_ERR_BUSY = BY_CODE.ST_ERR_BUSY;
export const ST_ERR_STATE = BY_CODE.ST_ERR_STATE;
export const ST_ERR_DATAPLANE_EXIT = BY_CODE.ST_ERR_DATAPLANE_EXIT;
export const ST_ERR_DATAPLANE_STATE = BY_CODE.ST_ERR_DATAPLANE_STATE;
export const ST_ERR_DATAPLANE_TIMEOUT = BY_CODE.ST_ERR_DATAPLANE_TIMEOUT;
export const ST_ERR_PROTOCOL = BY_CODE.ST_ERR_PROTOCOL;
export const ST_ERR_NOT_READY = BY_CODE.ST_ERR_NOT_READY;
export const ST_ERR_POLICY_INVALID = BY_CODE.ST_ERR_POLICY_INVALID;
export const ST_ERR_POLICY_COMPILE = BY_CODE.ST_ERR_POLICY_COMPILE;
export const ST_ERR_ENCAP = BY_CODE.ST_ERR_ENCAP;
export const ST_ERR_STATE_SAVE = BY_CODE.ST_ERR_STATE_SAVE;
export const ST_ERR_FAULT_INVALID = BY_CODE.ST_ERR_FAULT_INVALID;
export const ST_ERR_TOPOLOGY_INVALID = BY_CODE.ST_ERR_TOPOLOGY_INVALID;
export const ST_ERR_ALERT_INVALID = BY_CODE.ST_ERR_ALERT_INVALID;
export const ST_ERR_BAD_REQUEST = BY_CODE.ST_ERR_BAD_REQUEST;
export const ST_ERR_NOT_FOUND = BY_CODE.ST_ERR_NOT_FOUND;
export const ST_ERR_UNAUTHORIZED = BY_CODE.ST_ERR_UNAUTHORIZED;
export const ST_ERR_FORBIDDEN = BY_CODE.ST_ERR_FORBIDDEN;
export const ST_ERR_PRECONDITION_FAILED = BY_CODE.ST_ERR_PRECONDITION_FAILED;
export const ST_ERR_PAYLOAD_TOO_LARGE = BY_CODE.ST_ERR_PAYLOAD_TOO_LARGE;
export const ST_ERR_UNSUPPORTED_MEDIA_TYPE = BY_CODE.ST_ERR_UNSUPPORTED_MEDIA_TYPE;
export const ST_ERR_PRECONDITION_REQUIRED = BY_CODE.ST_ERR_PRECONDITION_REQUIRED;
export const ST_ERR_RATE_LIMITED = BY_CODE.ST_ERR_RATE_LIMITED;
export const ST_ERR_INTERNAL = BY_CODE.ST_ERR_INTERNAL;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(BY_CODE, code);
}

export interface ErrorDetails {
  field?: string;
  errnum?: number;
  cause?: unknown;
}

/**
 * Why a system call failed, for a message: Node's own text ("ENOENT: no such
 * file or directory, open 'x'") already names the code, so it is not repeated.
 */
export function sysReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = err instanceof Error ? e.message : String(err);
  return e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text;
}

/** Build a catalogue error by code. */
export function stError(code: ErrorCode, message: string, details: ErrorDetails = {}): ShadowtapError {
  const Ctor = BY_CODE[code];
  const err = (details.cause === undefined ? new Ctor(message) : new Ctor(message, { cause: details.cause })) as unknown as ShadowtapError;
  err.field = details.field ?? '';
  err.errnum = details.errnum ?? 0;
  return err;
}

/**
 * Turn an error that crossed the child-process channel back into a catalogue
 * error. A code the catalogue does not know becomes ST_ERR_INTERNAL, with the
 * original code kept in the message so nothing is lost.
 */
export function fromWire(wire: WireError, extra = ''): ShadowtapError {
  const known = isErrorCode(wire.code);
  const code: ErrorCode = known ? (wire.code as ErrorCode) : 'ST_ERR_INTERNAL';
  let message = known ? wire.message : `${wire.code}: ${wire.message}`;
  if (wire.field) message = `${wire.field}: ${message}`;
  if (extra) message = `${message}\n${extra}`;
  return stError(code, message, { field: wire.field, errnum: wire.errnum });
}

export function isShadowtapError(err: unknown): err is ShadowtapError {
  return err instanceof Error && isErrorCode((err as { code?: unknown }).code);
}

/** One problem found in a configuration, named by its field path. */
export interface ConfigProblem {
  /** field path such as `ports[1].device`; '' for the document itself */
  path: string;
  message: string;
  /** 1-based line in the YAML source, when known */
  line?: number;
}

/**
 * ST_ERR_CONFIG_INVALID carrying every problem found, not only the first:
 * an operator fixes a config in one pass.
 */
export class ConfigError extends ST_ERR_CONFIG_INVALID {
  readonly problems: readonly ConfigProblem[];
  readonly source: string;
  declare field: string;
  declare errnum: number;

  constructor(problems: readonly ConfigProblem[], source = 'config') {
    super(ConfigError.render(problems, source));
    this.name = 'ConfigError';
    this.problems = problems;
    this.source = source;
    this.field = problems[0]?.path ?? '';
    this.errnum = 0;
  }

  static render(problems: readonly ConfigProblem[], source: string): string {
    const head = `${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):`;
    return [head, ...problems.map((p) => `  ${formatProblem(p, source)}`)].join('\n');
  }
}

export function formatProblem(p: ConfigProblem, source?: string): string {
  const where = p.line !== undefined && source ? `${source}:${p.line}: ` : p.line !== undefined ? `line ${p.line}: ` : '';
  return `${where}${p.path || '(document)'}: ${p.message}`;
}

/**
 * ST_ERR_POLICY_INVALID carrying every problem (field path + message): the
 * admin API answers it as 400 with `problems`, the CLI prints them.
 */
export class PolicyError extends ST_ERR_POLICY_INVALID {
  readonly problems: readonly ConfigProblem[];
  declare field: string;
  declare errnum: number;

  constructor(problems: readonly ConfigProblem[], source = 'policy') {
    super(ConfigError.render(problems, source));
    this.name = 'PolicyError';
    this.problems = problems;
    this.field = problems[0]?.path ?? '';
    this.errnum = 0;
  }
}

/** ST_ERR_FAULT_INVALID carrying every problem (field path + message). */
export class FaultError extends ST_ERR_FAULT_INVALID {
  readonly problems: readonly ConfigProblem[];
  declare field: string;
  declare errnum: number;

  constructor(problems: readonly ConfigProblem[], source = 'faults') {
    super(ConfigError.render(problems, source));
    this.name = 'FaultError';
    this.problems = problems;
    this.field = problems[0]?.path ?? '';
    this.errnum = 0;
  }
}

/** ST_ERR_TOPOLOGY_INVALID carrying every problem. */
export class TopologyError extends ST_ERR_TOPOLOGY_INVALID {
  readonly problems: readonly ConfigProblem[];
  declare field: string;
  declare errnum: number;

  constructor(problems: readonly ConfigProblem[], source = 'topology') {
    super(ConfigError.render(problems, source));
    this.name = 'TopologyError';
    this.problems = problems;
    this.field = problems[0]?.path ?? '';
    this.errnum = 0;
  }
}

/** ST_ERR_ALERT_INVALID carrying every problem (field path + message). */
export class AlertError extends ST_ERR_ALERT_INVALID {
  readonly problems: readonly ConfigProblem[];
  declare field: string;
  declare errnum: number;

  constructor(problems: readonly ConfigProblem[], source = 'alert rule') {
    super(ConfigError.render(problems, source));
    this.name = 'AlertError';
    this.problems = problems;
    this.field = problems[0]?.path ?? '';
    this.errnum = 0;
  }
}
