/**
 * Problems found in hw-profiles/ and firmware-config/ files, each naming the
 * file and the field, and the error that carries all of them at once (an
 * operator or a contributor fixes a profile in one pass).
 *
 * The codes are meant for the one catalogue in src/errors.ts
 * (ST_ERR_PROFILE_INVALID, ST_ERR_FIRMWARE_CONFIG_INVALID); until they are
 * added there, ProfileError carries them as plain strings.
 */
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';

export interface Problem {
  /** file as shown to people, relative to the project root: `hw-profiles/ice.json` */
  file: string;
  /** field path: `capabilities.actions.set_ipv4_dst`, `match.pci[2].id`; '' for the whole file */
  field: string;
  message: string;
}

export type ProfileErrorCode = 'ST_ERR_PROFILE_INVALID' | 'ST_ERR_FIRMWARE_CONFIG_INVALID';

export function formatProblem(p: Problem): string {
  return `${p.file}: ${p.field || '(file)'}: ${p.message}`;
}

export class ProfileError extends Error {
  readonly code: ProfileErrorCode;
  readonly statusCode = 500;
  readonly problems: readonly Problem[];
  /** the first problem's file and field, for callers that show one */
  readonly file: string;
  readonly field: string;

  constructor(code: ProfileErrorCode, problems: readonly Problem[]) {
    const what = code === 'ST_ERR_PROFILE_INVALID' ? 'hardware profiles' : 'firmware-config entries';
    const lines = problems.map((p) => `  ${formatProblem(p)}`);
    super(
      problems.length === 1 && problems[0]
        ? formatProblem(problems[0])
        : [`${problems.length} problems in ${what}:`, ...lines].join('\n'),
    );
    this.name = 'ProfileError';
    this.code = code;
    this.problems = problems;
    this.file = problems[0]?.file ?? '';
    this.field = problems[0]?.field ?? '';
  }
}

/** `match.pci[2].id` from the JSON pointer `/match/pci/2/id`. */
export function pointerToField(pointer: string): string {
  if (pointer === '' || pointer === '/') return '';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^(0|[1-9][0-9]*)$/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function literalsOf(schema: TSchema): unknown[] | undefined {
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!anyOf) return undefined;
  const values: unknown[] = [];
  for (const s of anyOf) {
    if (!('const' in s)) return undefined;
    values.push((s as unknown as { const: unknown }).const);
  }
  return values;
}

function describe(schema: TSchema): string {
  const s = schema as Record<string, unknown>;
  if (typeof s['description'] === 'string') return s['description'];
  const lits = literalsOf(schema);
  if (lits) return `one of ${lits.map((v) => JSON.stringify(v)).join(', ')}`;
  const anyOf = s['anyOf'] as TSchema[] | undefined;
  if (anyOf) return anyOf.map(describe).join(' or ');
  if ('const' in s) return JSON.stringify(s['const']);
  switch (s['type']) {
    case 'string':
      return typeof s['pattern'] === 'string' ? `a string matching /${s['pattern']}/` : 'a string';
    case 'integer':
      return typeof s['minimum'] === 'number' ? `an integer >= ${s['minimum']}` : 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'null':
      return 'null';
    default:
      return 'a valid value';
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function messageFor(e: ValueError): string {
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const { properties, patternProperties } = e.schema as {
        properties?: Record<string, unknown>;
        patternProperties?: Record<string, unknown>;
      };
      if (properties) return `unknown field; expected one of: ${Object.keys(properties).join(', ')}`;
      const pattern = patternProperties ? Object.keys(patternProperties)[0] : undefined;
      return pattern ? `unknown key; expected a name matching /${pattern}/` : 'unknown field';
    }
    case ValueErrorType.ObjectRequiredProperty:
      return `missing; expected ${describe(e.schema)}`;
    case ValueErrorType.ArrayUniqueItems:
      return 'has duplicate entries; expected each entry once';
    case ValueErrorType.ArrayMinItems:
      return `expected at least ${(e.schema as { minItems?: number }).minItems ?? 1} entr${((e.schema as { minItems?: number }).minItems ?? 1) === 1 ? 'y' : 'ies'}`;
    default:
      return `expected ${describe(e.schema)}, got ${show(e.value)}`;
  }
}

/**
 * Every schema problem of `value`, one per field (the first error at a path
 * wins). Where a union such as "a mapping or null" gets a mapping, the
 * problems inside the mapping are reported, not the union as a whole.
 */
export function schemaProblems(schema: TSchema, value: unknown, file: string, prefix = ''): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of Value.Errors(schema, value)) {
    const pointer = prefix + e.path;
    const field = pointerToField(pointer);
    // A union reports itself and again each branch, and a missing required
    // property is reported again as a type error: the first one says it best.
    if (seen.has(field)) continue;
    seen.add(field);
    const branches = (e.schema as { anyOf?: TSchema[] }).anyOf;
    if (e.type === ValueErrorType.Union && branches && e.value !== null && typeof e.value === 'object' && !Array.isArray(e.value)) {
      const objectBranches = branches.filter((b) => (b as { type?: unknown }).type === 'object');
      if (objectBranches.length === 1 && objectBranches[0]) {
        const inner = schemaProblems(objectBranches[0], e.value, file, pointer);
        for (const p of inner) seen.add(p.field);
        out.push(...inner);
        continue;
      }
    }
    out.push({ file, field, message: messageFor(e) });
  }
  return out;
}
