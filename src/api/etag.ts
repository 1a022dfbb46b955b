/**
 * Versions of API resources, for optimistic concurrency (RFC 9110):
 * every GET answers with an ETag, and a write that names the version it
 * replaces (If-Match) is refused with 412 when that version is no longer
 * current.
 *
 * The policy's ETag is its generation ("g7"): generations only grow, so a
 * generation names one policy for the life of the state file. Other
 * resources (status, counters, plans) are read-only and get a weak ETag
 * from their body.
 */
import type { FastifyRequest } from 'fastify';
import { stError } from '../errors.js';

export const policyEtag = (generation: number): string => `"g${generation}"`;

/** If-Match: '*', the listed entity tags, or null when absent. */
export function parseIfMatch(header: string | string[] | undefined): '*' | string[] | null {
  if (header === undefined) return null;
  const text = (Array.isArray(header) ? header.join(',') : header).trim();
  if (text === '*') return '*';
  return text.split(',').map((t) => t.trim()).filter((t) => t !== '');
}

/** The generation an entity tag names ("g7", W/ never matches: If-Match compares strongly), or null. */
export function etagGeneration(tag: string): number | null {
  const m = /^"g([1-9][0-9]{0,14})"$/.exec(tag);
  return m ? Number(m[1]) : null;
}

/**
 * What a write of the policy must replace, from If-Match: undefined for
 * '*'; else the generations named (a write is refused unless the current
 * one is among them). Throws 428 when the header is absent and `required`.
 */
export function expectedGenerations(request: FastifyRequest, required: boolean): number[] | undefined {
  const ifMatch = parseIfMatch(request.headers['if-match']);
  if (ifMatch === null) {
    if (!required) return undefined;
    throw stError(
      'ST_ERR_PRECONDITION_REQUIRED',
      `${request.method} ${request.routeOptions.url ?? request.url} replaces the whole resource: send If-Match with the ETag of the version you read (GET answers with it, e.g. If-Match: "g3"), or If-Match: * to replace whatever is current`,
      { field: 'If-Match' },
    );
  }
  if (ifMatch === '*') return undefined;
  // A tag not of our form names no version: it can never match (412, not 400).
  return ifMatch.map(etagGeneration).map((g) => g ?? -1);
}

/**
 * Faults and experiments have versions of their own ("v3"): the versions
 * If-Match names, undefined when it is absent or '*' (a tag not of that
 * form names none: -1, never current).
 */
export function expectedVersions(request: FastifyRequest): number[] | undefined {
  const ifMatch = parseIfMatch(request.headers['if-match']);
  if (ifMatch === null || ifMatch === '*') return undefined;
  return ifMatch.map((t) => /^"v([1-9][0-9]{0,14})"$/.exec(t)).map((m) => (m ? Number(m[1]) : -1));
}
