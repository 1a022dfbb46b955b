/**
 * The plan in words: each session placement piece by piece (classification,
 * sampling, mirroring, translation, encap, truncation, rate cap, firewall),
 * each with where it runs and why, and `explain()`, the whole plan as text
 * for `shadowtap plan --explain`.
 */
import { ENCAP, type NativePolicy, type NativeSession } from '../dataplane/native-types.js';
import { REWRITE_ACTIONS, type FlowAction } from './flow.js';
import { list, up, type HwPlan, type SessionWork } from './placement.js';
import {
  markCopy,
  markDecided,
  type Placement,
  type PlacementPlan,
  type PlanPiece,
  type PlanPort,
  type SessionPath,
  type SessionPlacement,
} from './plan-schema.js';
import type { PortCapabilities } from './probe.js';
import { mapsOf, rewriteFor } from './translation.js';

// ---- session placements ------------------------------------------------------------

function describeTarget(policy: NativePolicy, s: NativeSession, ports: ReadonlyMap<number, PlanPort>): string {
  const t = policy.targets[s.target];
  if (!t) return `target ${s.target}`;
  const names = t.ports.map((p) => ports.get(p)?.name ?? `port ${p}`);
  return names.length === 1 ? names[0]! : `${names.join(', ')}`;
}

function encapWords(policy: NativePolicy, s: NativeSession): string | null {
  const t = policy.targets[s.target];
  if (!t || t.encap === ENCAP.none) return null;
  if (t.encap === ENCAP.vlan) return `VLAN ${t.vlanId}${t.vlanPcp ? ` pcp ${t.vlanPcp}` : ''}`;
  if (t.encap === ENCAP.vxlan) return `VXLAN vni ${t.vni}`;
  return `GENEVE vni ${t.vni}`;
}

export function txPlacement(s: NativeSession, port: PlanPort, policy: NativePolicy, byIndex: ReadonlyMap<number, PlanPort>): SessionPlacement {
  const why = `copies of packets sent out of ${port.name} are taken in software: shadowtap's rules act on received packets`;
  const pieces: PlanPiece[] = [
    { kind: 'classification', placement: 'software', stage: 'classify', reason: why, rules: [] },
    { kind: 'mirroring', placement: 'software', stage: 'copy', reason: `software copies to ${describeTarget(policy, s, byIndex)}`, rules: [] },
  ];
  return {
    session: s.id, slot: s.slot, port: { index: port.index, name: port.name }, direction: 'tx',
    placement: 'software', path: 'software', reason: why, marks: {}, pieces, rules: [], notTaken: [],
  };
}

export function sessionPlacement(
  w: SessionWork,
  port: PlanPort,
  caps: PortCapabilities,
  policy: NativePolicy,
  active: boolean,
  byIndex: ReadonlyMap<number, PlanPort>,
  ruleIds: string[],
  stages: { match: string[]; copy: string[] },
): SessionPlacement {
  const s = w.session;
  const hw = w.chosen;
  const fam = caps.family;
  const path: SessionPath = hw ? hw.path : 'software';
  const decided = markDecided(s.slot);
  const copyMark = markCopy(s.slot);
  const target = describeTarget(policy, s, byIndex);
  const pieces: PlanPiece[] = [];
  const first = (prefix: string) => w.notTaken.find((n) => n.startsWith(prefix))?.slice(prefix.length);
  const softwareWhy = w.notTaken.length
    ? w.notTaken[w.notTaken.length - 1]!.replace(/^(not all in hardware|no hardware copy|classification in software)( for VLAN-tagged frames)?: /, '')
    : 'no rule can be written';

  // classification
  if (hw) {
    const n = stages.match.length;
    pieces.push({
      kind: 'classification', placement: 'hardware',
      reason: `${fam}: ${n} rule${n === 1 ? ' matches' : 's match'} in ${hw.domain} and MARK ${decided}${hw.path === 'hybrid-classify' ? '; software skips its classifier for marked packets' : ''}${hw.note ? `; ${hw.note}` : ''}`,
      rules: stages.match,
    });
  } else {
    pieces.push({ kind: 'classification', placement: 'software', stage: 'classify', reason: `classified in software: ${softwareWhy}`, rules: [] });
  }

  // sampling
  const sp = w.sampling;
  if (sp.ratio !== 1 || !sp.exact) {
    if (hw && hw.path === 'hybrid-mirror') {
      pieces.push({ kind: 'sampling', placement: 'hardware', reason: `${fam}: SAMPLE ratio ${sp.ratio} in ingress takes ${sp.words} at random, as the policy's per-packet sampling does`, rules: stages.match });
    } else {
      const why = sp.why ?? (first('no hardware copy: ') ?? `${fam}: no SAMPLE at a ratio`);
      pieces.push({ kind: 'sampling', placement: 'software', stage: 'sample', reason: `${sp.words} sampled in software: ${why}`, rules: [] });
    }
  }

  // mirroring
  if (hw?.path === 'hardware') {
    pieces.push({
      kind: 'mirroring', placement: 'hardware',
      reason: hw.twoStage
        ? `${fam}: the copy must be rewritten, and a rewrite before SAMPLE would alter production: two stages in the E-Switch, production leaves untouched on the SAMPLE branch (ratio 1) to ${port.name} and the copy goes on to a second rule that rewrites it and sends it to ${target}`
        : `${fam}: SAMPLE ratio 1 in the E-Switch sends the copy to ${target}; production continues to ${port.name}`,
      rules: ruleIds,
    });
  } else if (hw?.path === 'hybrid-mirror') {
    const why = first('not all in hardware: ');
    pieces.push({
      kind: 'mirroring', placement: 'hybrid', stage: 'tx',
      reason: `${fam}: SAMPLE ratio ${hw.sampleRatio} in ingress copies to the software path with MARK ${copyMark}; software sends it to ${target}${why ? ` (not straight to ${target}: ${why})` : ''}`,
      rules: stages.match,
    });
  } else if (hw?.path === 'hybrid-classify') {
    const why = first('no hardware copy: ') ?? `${fam}: no SAMPLE`;
    pieces.push({ kind: 'mirroring', placement: 'software', stage: 'copy', reason: `software copies the packets hardware MARKed ${decided} to ${target}: ${why}`, rules: [] });
  } else {
    pieces.push({ kind: 'mirroring', placement: 'software', stage: 'copy', reason: `software copies to ${target}`, rules: [] });
  }

  // translation
  if (active) {
    if (hw?.path === 'hardware') {
      const acts = [...new Set((hw.rewrites ?? []).flatMap((r) => r.actions.map((a) => up(a.type))))];
      pieces.push({
        kind: 'translation', placement: 'hardware',
        reason: acts.length ? `${fam}: ${list(acts)} on the copy in the second stage, after the SAMPLE branch took production` : 'every matched address is kept by the maps; nothing to rewrite',
        rules: stages.copy,
      });
    } else {
      const why = translationWhy(w, hw, caps, policy);
      pieces.push({ kind: 'translation', placement: 'software', stage: 'rewrite', reason: why, rules: [] });
    }
  }

  // encap
  const enc = encapWords(policy, s);
  if (enc) {
    const tgt = policy.targets[s.target]!;
    if (hw?.path === 'hardware' && tgt.encap === ENCAP.vlan) {
      pieces.push({ kind: 'encap', placement: 'hardware', reason: `${fam}: OF_PUSH_VLAN + OF_SET_VLAN_VID/PCP (${enc}) in the second stage`, rules: stages.copy });
    } else {
      const why = tgt.encap === ENCAP.vxlan
        ? 'its outer UDP source port carries a per-flow hash (49152 + hash % 16384) that a fixed VXLAN_ENCAP header cannot'
        : tgt.encap === ENCAP.geneve ? 'DPDK 22.11 has no GENEVE encap action'
          : hw ? 'the copy is finished in software' : 'the copy is made in software';
      pieces.push({ kind: 'encap', placement: 'software', stage: 'encap', reason: `${enc} in software: ${why}`, rules: [] });
    }
  }
  if (s.snaplen > 0) pieces.push({ kind: 'truncation', placement: 'software', stage: 'copy', reason: `copies cut to ${s.snaplen} bytes in software (rte_flow cannot truncate)`, rules: [] });
  if (s.ratePps > 0 || s.rateBps > 0) {
    const what = [s.ratePps > 0 ? `${s.ratePps} packets/s` : '', s.rateBps > 0 ? `${s.rateBps} bits/s` : ''].filter(Boolean).join(' and ');
    pieces.push({ kind: 'rate-cap', placement: 'software', stage: 'rate', reason: `${what} cap in software (per-worker token buckets, counted as dropped{rate})`, rules: [] });
  }
  if (policy.fwEnabled) pieces.push({ kind: 'firewall', placement: 'software', stage: 'firewall', reason: 'the shadow firewall filters translated copies in software', rules: [] });

  const placement: Placement = path === 'software' ? 'software' : path === 'hardware' ? 'hardware' : 'hybrid';
  const summary = path === 'hardware'
    ? `all in hardware${hw?.twoStage ? ' (two stages)' : ''}: ${fam} mirrors to ${target}`
    : path === 'hybrid-mirror'
      ? `hybrid: ${fam} matches and copies to the software path (MARK ${copyMark}); software finishes the copy`
      : path === 'hybrid-classify'
        ? `hybrid: ${fam} matches and MARKs ${decided}; software copies`
        : `software: ${softwareWhy}`;
  return {
    session: s.id, slot: s.slot, port: { index: port.index, name: port.name }, direction: 'rx',
    placement, path, reason: summary,
    marks: hw ? { decided, ...(hw.path === 'hybrid-mirror' ? { copy: copyMark } : {}) } : {},
    pieces, rules: ruleIds, notTaken: [...w.notTaken],
  };
}

/** Why the copy is translated in software, in the operator's words. */
function translationWhy(w: SessionWork, hw: HwPlan | null, caps: PortCapabilities, policy: NativePolicy): string {
  const fam = caps.family;
  const fromHw = w.notTaken.find((n) => n.startsWith('not all in hardware: '));
  const m = fromHw ? /translation stays in software: ([^;]*)/.exec(fromHw) : null;
  if (m) return `translated in software: ${m[1]}`;
  if (!hw) return 'translated in software, with the rest of the copy';
  const markWords = `; match in hardware with MARK ${hw.path === 'hybrid-mirror' ? markCopy(w.session.slot) : markDecided(w.session.slot)}`;
  // Which rewrite actions the session would need, for the message.
  const needed = new Set<string>();
  let perPacket: string | undefined;
  const maps = mapsOf(policy);
  for (const it of hw.intents) {
    if (it.kind !== 'accept') continue;
    const r = rewriteFor(it.match, policy, maps);
    if (typeof r === 'string') perPacket ??= r;
    else r.actions.forEach((a) => needed.add(a.type));
  }
  const ing = caps.domains.ingress.actions;
  if (!ing.some((a) => REWRITE_ACTIONS.has(a as FlowAction['type']))) {
    return `${fam}: ${needed.size ? list([...needed].map(up)) : 'header rewrite'} unsupported in ingress, translation in software${markWords}`;
  }
  if (perPacket) return `translated in software: ${perPacket}${markWords}`;
  const missing = [...needed].filter((a) => !ing.includes(a));
  if (missing.length) return `${fam}: ${list(missing.map(up))} unsupported in ingress, translation in software${markWords}`;
  if (needed.size === 0) return `the maps keep every matched address; the software rewrite still runs on the copy${markWords}`;
  return `${fam}: ${list([...needed].map(up))} in ingress would act on production too (before SAMPLE, or on the packet itself), so the copy is translated in software${markWords}`;
}

// ---- explanations ------------------------------------------------------------------

const pieceLine = (p: PlanPiece): string => {
  const where = p.stage ? ` [software stage: ${p.stage}]` : '';
  const rules = p.rules.length ? ` (rules ${p.rules.join(', ')})` : '';
  return `  ${p.kind.padEnd(14)} ${p.placement.padEnd(8)} ${p.reason}${where}${rules}`;
};

/**
 * The plan in words, for `shadowtap plan --explain`: ports (profile, probe,
 * disagreements), every session placement piece by piece, the control-plane
 * punts, every hardware rule with its testpmd commands, and the MARK table.
 */
export function explain(p: PlacementPlan, opts: { testpmd?: boolean } = {}): string {
  const out: string[] = [];
  const s = p.summary;
  out.push(`Placement plan for policy generation ${p.generation}: ${p.sessions.length} session placement${p.sessions.length === 1 ? '' : 's'} (${s.hardware} hardware, ${s.hybrid} hybrid, ${s.software} software), ${s.rules} hardware rule${s.rules === 1 ? '' : 's'}`);
  for (const port of p.ports) {
    out.push('');
    const pci = port.pciId ? `, PCI ${port.pciId}` : '';
    out.push(`Port ${port.name} (index ${port.index}, ${port.role}): driver ${port.driver}${pci}, profile ${port.profile} (${port.matchedBy === 'fallback' ? 'no profile matched' : `by ${port.matchedBy}`})`);
    out.push(`  ${port.matchReason}`);
    out.push(port.probed > 0
      ? `  probe: ${port.probed} rule${port.probed === 1 ? '' : 's'} validated, ${port.disagreements.length} disagreement${port.disagreements.length === 1 ? '' : 's'} with the profile`
      : '  probe: not run; the profile\'s facts are used');
    for (const d of port.disagreements) out.push(`  ! ${d}`);
    for (const n of port.notes) out.push(`  note: ${n}`);
    if (port.placement !== 'none') {
      const cap = port.ruleCapacity === null ? 'no fixed capacity' : `capacity ${port.ruleCapacity}`;
      out.push(`  placement: ${port.placement}; ${port.rules} hardware rule${port.rules === 1 ? '' : 's'} (${cap})`);
    }
  }
  for (const sp of p.sessions) {
    out.push('');
    out.push(`Session ${sp.session} on ${sp.port.name} ${sp.direction}: ${sp.reason}`);
    for (const piece of sp.pieces) out.push(pieceLine(piece));
    const marks = [sp.marks.decided !== undefined ? `decided ${sp.marks.decided}` : '', sp.marks.copy !== undefined ? `copy ${sp.marks.copy}` : ''].filter(Boolean);
    if (marks.length) out.push(`  marks: ${marks.join(', ')}`);
    // A software session's last refusal is its headline already.
    const shown = sp.placement === 'software' ? sp.notTaken.slice(0, -1) : sp.notTaken;
    for (const n of shown) out.push(`  not taken: ${n}`);
  }
  for (const cp of p.controlPlane) {
    out.push('');
    out.push(`Control plane on ${cp.port.name}: ${cp.placement}`);
    out.push(`  ${cp.reason}${cp.rules.length ? ` (rules ${cp.rules.join(', ')})` : ''}`);
  }
  if (p.rules.length) {
    out.push('');
    out.push('Hardware rules (dpdk-testpmd commands reproduce each one)');
    for (const r of p.rules) {
      const a = r.rule.attr;
      const where = `${r.domain}${a.group ? ` group ${a.group}` : ''} priority ${a.priority}`;
      out.push(`  ${r.id.padEnd(4)} ${r.port.name} ${where}: ${r.purpose}`);
      if (opts.testpmd !== false) for (const l of r.testpmd) out.push(`         ${l}`);
      for (const n of r.notes) out.push(`         note: ${n}`);
    }
  }
  if (p.marks.length) {
    out.push('');
    out.push('MARK values the software path reads');
    for (const m of p.marks) out.push(`  ${String(m.mark).padEnd(6)} ${m.kind.padEnd(8)} ${m.meaning}`);
  }
  if (p.warnings.length) {
    out.push('');
    out.push('Warnings');
    for (const w of p.warnings) out.push(`  ${w}`);
  }
  return `${out.join('\n')}\n`;
}
