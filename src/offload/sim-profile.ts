/**
 * The profile file of the emulated SmartNIC (net_shadowsim, native/sim/),
 * rendered from a hw-profile: what the emulated driver accepts, in a
 * line-based format that C reads without a JSON parser
 * (docs/emulated-nic.md, "Profile file").
 *
 * Everything comes from the hw-profile except two things the profile schema
 * does not carry, kept here with their sources: how each family words its
 * refusals (errno, rte_flow error type, message), and which quirk ids the
 * emulator reproduces. A quirk id the emulator does not know is listed as a
 * comment, never silently dropped.
 */
import { DOMAINS, type Domain, type Profile } from './profile-schema.js';

export const SIM_PROFILE_FORMAT = 1;

/** One kind of refusal as the real driver reports it. */
export interface SimError {
  /** errno name, positive: ENOTSUP, EINVAL, ENOSPC, ENOMEM, ENOBUFS, EEXIST */
  errno: 'ENOTSUP' | 'EINVAL' | 'ENOSPC' | 'ENOMEM' | 'ENOBUFS' | 'EEXIST';
  /** rte_flow_error type, lower case without the RTE_FLOW_ERROR_TYPE_ prefix */
  type: 'unspecified' | 'handle' | 'attr' | 'attr_group' | 'attr_priority' | 'attr_ingress' | 'attr_egress' | 'attr_transfer' | 'item' | 'action' | 'action_conf';
  message: string;
}

export interface FamilyErrors {
  /** an item outside the family's pattern support */
  item: SimError;
  /** an action outside the domain's action support */
  action: SimError;
  /** a domain (ingress/egress/transfer) the family does not offer */
  attr: SimError;
  /** rte_flow_create when the rule table is full */
  full: SimError;
  source: string;
}

/** Used for families without an entry below: the wording of rte_flow's own documentation. */
export const DEFAULT_ERRORS: FamilyErrors = {
  item: { errno: 'ENOTSUP', type: 'item', message: 'item not supported' },
  action: { errno: 'ENOTSUP', type: 'action', message: 'action not supported' },
  attr: { errno: 'ENOTSUP', type: 'attr', message: 'attribute not supported' },
  full: { errno: 'ENOSPC', type: 'handle', message: 'rule table full' },
  source: 'lib/ethdev/rte_flow.h (ENOTSUP: valid but unsupported rule; ENOSPC/ENOMEM: not enough space or memory)',
};

export const FAMILY_ERRORS: Readonly<Record<string, FamilyErrors>> = {
  mlx5: {
    item: { errno: 'ENOTSUP', type: 'item', message: 'item not supported' },
    action: { errno: 'ENOTSUP', type: 'action', message: 'action not supported' },
    attr: { errno: 'ENOTSUP', type: 'attr', message: 'attribute not supported' },
    // DV rules live in device memory (ICM): exhaustion surfaces as ENOMEM.
    full: { errno: 'ENOMEM', type: 'unspecified', message: 'cannot create flow: no memory left for the rule' },
    source: 'drivers/net/mlx5/mlx5_flow_dv.c flow_dv_validate() ("item not supported", "action not supported")',
  },
  ice: {
    item: { errno: 'EINVAL', type: 'item', message: 'Unsupported pattern' },
    action: { errno: 'EINVAL', type: 'action', message: 'Invalid action.' },
    attr: { errno: 'EINVAL', type: 'attr', message: 'Only support ingress.' },
    full: { errno: 'ENOSPC', type: 'handle', message: 'Add filter rule failed.' },
    source: 'drivers/net/ice/ice_generic_flow.c ice_flow_valid_attr(), ice_search_pattern_match_item(); drivers/net/ice/ice_fdir_filter.c',
  },
  i40e: {
    item: { errno: 'EINVAL', type: 'item', message: 'Unsupported pattern' },
    action: { errno: 'EINVAL', type: 'action', message: 'Not supported action.' },
    attr: { errno: 'EINVAL', type: 'attr', message: 'Only support ingress.' },
    full: { errno: 'ENOBUFS', type: 'handle', message: 'Fdir space full' },
    source: 'drivers/net/i40e/i40e_flow.c i40e_flow_parse_attr(), i40e_flow_validate(), i40e_flow_create()',
  },
  net_tap: {
    item: { errno: 'ENOTSUP', type: 'item', message: 'item not supported' },
    action: { errno: 'ENOTSUP', type: 'action', message: 'action not supported' },
    attr: { errno: 'ENOTSUP', type: 'attr', message: 'attribute not supported' },
    full: { errno: 'ENOMEM', type: 'handle', message: 'cannot allocate memory for rte_flow' },
    source: 'drivers/net/tap/tap_flow.c priv_flow_process(), tap_flow_create()',
  },
};

/** hw-profile quirk ids the emulator reproduces, and the profile-file lines that do it. */
export const EMULATED_QUIRKS: Readonly<Record<string, readonly string[]>> = {
  // i40e: attributes other than group 0 / priority 0 are refused
  'no-group-no-priority': ['attr group0-only', 'attr priority0-only'],
  // bnxt: SAMPLE only as an indirect action
  'sample-shared-only': ['sample-indirect-only'],
  // net_tap on a kernel without flower/gact/mirred: validate passes, create fails (tap_flow.c tap_flow_create)
  'flow-create-needs-tc': ['create-fails EEXIST handle overlapping rules or Kernel too old for flower support'],
  // net_tap: RSS refused without filling rte_flow_error (only with the devarg quirk_error_unset=1)
  'rss-validate-error-unset': ['quirk rss-validate-error-unset'],
};

export interface SimProfileOptions {
  /** Rule capacity to write instead of the profile's (the devarg capacity= overrides both). */
  capacity?: number;
  /** Where the hw-profile came from, for the header comment (e.g. hw-profiles/mlx5.json). */
  source?: string;
}

function wrap(keyword: string, names: readonly string[], perLine = 12): string[] {
  if (names.length === 0) return [keyword];
  const lines: string[] = [];
  for (let i = 0; i < names.length; i += perLine) lines.push(`${keyword} ${names.slice(i, i + perLine).join(' ')}`);
  return lines;
}

function errorLine(what: string, e: SimError): string {
  return `error ${what} ${e.errno} ${e.type} ${e.message}`;
}

const SAMPLE_CASES = [
  ['ingress', 'ingress'],
  ['egress', 'egress'],
  ['transfer', 'transfer'],
  ['transferRatioAbove1', 'transfer-ratio-above-1'],
] as const;

/**
 * Renders the net_shadowsim profile file for one hw-profile. Deterministic:
 * the same profile always gives the same text.
 */
export function renderSimProfile(profile: Profile, opts: SimProfileOptions = {}): string {
  const out: string[] = [];
  const api = profile.flow.api;
  const capacity = opts.capacity ?? profile.limits.ruleCapacity.rules;
  if (capacity !== null && (!Number.isInteger(capacity) || capacity < 0)) {
    throw new RangeError(`capacity: expected a whole number >= 0, got ${String(capacity)}`);
  }
  const errors = FAMILY_ERRORS[profile.family] ?? DEFAULT_ERRORS;

  out.push(`# net_shadowsim profile for ${profile.family}: ${profile.title}`);
  out.push(`# Generated from ${opts.source ?? `hw-profiles/${profile.family}.json`} by src/offload/sim-profile.ts; do not edit.`);
  out.push(`# Format: docs/emulated-nic.md. Error wording: ${errors.source}`);
  out.push(`shadowsim-profile ${SIM_PROFILE_FORMAT}`);
  out.push(`family ${profile.family}`);
  out.push(`flow-api ${api}`);
  out.push(`capacity ${capacity === null ? 'unlimited' : String(capacity)}`);

  const items = api === 'rte_flow' ? Object.keys(profile.capabilities.items).sort() : [];
  const actions = api === 'rte_flow' ? Object.keys(profile.capabilities.actions).sort() : [];
  out.push(...wrap('items', items));
  for (const d of DOMAINS) {
    const dom = profile.domains[d];
    const on = api === 'rte_flow' && dom.supported;
    out.push(`domain ${d} ${on ? 'on' : 'off'}`);
    if (on) out.push(...wrap(`actions ${d}`, [...(dom.actions ?? actions)].sort()));
  }

  const s = profile.limits.sample;
  if (api === 'rte_flow' && s.supported) {
    out.push(`sample-domains ${s.domains.join(' ')}`.trimEnd());
    const ratios = [s.mirror ? 'mirror' : '', s.fractionalRatio ? 'fractional' : ''].filter(Boolean);
    out.push(`sample-ratios ${ratios.length ? ratios.join(' ') : 'none'}`);
    if (s.subActions === null) {
      out.push('# sample sub-actions undocumented: the emulator accepts none on the copy');
    } else {
      for (const [key, word] of SAMPLE_CASES) {
        const list = s.subActions[key];
        if (list !== undefined) out.push(...wrap(`sample-actions ${word}`, list));
      }
    }
  }

  const mwm = profile.limits.mirrorWithModify;
  out.push(`modify-with-sample ${mwm.semantics}`);
  if (mwm.modifyBeforeSample) out.push(`modify-before-sample ${mwm.modifyBeforeSample}`);
  if (mwm.modifyAfterSample) out.push(`modify-after-sample ${mwm.modifyAfterSample}`);

  for (const q of profile.quirks) {
    const lines = EMULATED_QUIRKS[q.id];
    if (lines) out.push(`# quirk ${q.id}`, ...lines);
    else out.push(`# quirk ${q.id}: not emulated`);
  }

  out.push(errorLine('item', errors.item), errorLine('action', errors.action), errorLine('attr', errors.attr), errorLine('full', errors.full));
  return `${out.join('\n')}\n`;
}

/** The domains in which a profile accepts rules at all (for messages and tests). */
export function simDomains(profile: Profile): Domain[] {
  return profile.flow.api === 'rte_flow' ? DOMAINS.filter((d) => profile.domains[d].supported) : [];
}
