/**
 * Building blocks shared by every TypeBox schema of the configuration
 * (src/config/schema.ts, src/policy/schema.ts): the operator-facing wording
 * of "what was expected" is attached beside a schema with expect() and read
 * by the config loader. Here, below both schemas: config/ builds on
 * policy/, never the other way (test/architecture/import-cycles.test.ts).
 */
import { Type, type TLiteral, type TSchema } from '@sinclair/typebox';

/**
 * A symbol key, not a WeakMap: TypeBox copies symbol keys when it clones a
 * schema (Type.Optional, Type.Array items), so the wording follows the field
 * wherever it is used; JSON Schema consumers never see it.
 */
const EXPECTED = Symbol.for('shadowtap.expected');

/** Attach the operator-facing description of what a field accepts. */
export function expect<T extends TSchema>(schema: T, text: string): T {
  (schema as unknown as Record<symbol, string>)[EXPECTED] = text;
  return schema;
}

/** What a schema expects, in words, if a field declared it. */
export function expectedText(schema: TSchema): string | undefined {
  return (schema as unknown as Record<symbol, string | undefined>)[EXPECTED];
}

export function oneOf<const V extends readonly string[]>(values: V, opts: { default?: V[number]; description: string }) {
  return expect(
    Type.Union(values.map((v) => Type.Literal(v)) as TLiteral<V[number]>[], opts),
    `one of ${values.join(', ')}`,
  );
}

export function int(min: number, max: number, dflt: number | undefined, description: string) {
  const opts = dflt === undefined ? { minimum: min, maximum: max, description } : { minimum: min, maximum: max, default: dflt, description };
  return expect(Type.Integer(opts), `an integer from ${min} to ${max}`);
}

export function bool(dflt: boolean, description: string) {
  return expect(Type.Boolean({ default: dflt, description }), 'true or false');
}

export const PORT_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,31}$';
export const MAC_PATTERN = '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$';

/**
 * `allow` on an address map: the unsafe kinds (src/policy/map-safety.ts) the
 * operator accepts for this map; the compiled policy states each one.
 */
export const MAP_ALLOW_KINDS = ['identity', 'chained', 'colliding'] as const;
export function mapAllow() {
  return expect(
    Type.Optional(
      Type.Array(oneOf(MAP_ALLOW_KINDS, { description: 'An unsafe map kind.' }), {
        maxItems: 3,
        uniqueItems: true,
        description:
          'Accept this map although it is unsafe: identity (to = from), chained (its shadow range is a production range), colliding (its shadow range overlaps another map\'s). Refused otherwise; the plan lists what was accepted.',
      }),
    ),
    'a list of identity, chained, colliding',
  );
}
