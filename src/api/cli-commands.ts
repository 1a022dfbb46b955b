/** The CLI side of every API operation, kept beside the routes: docs/api.md's route table shows it. */

/**
 * Which command does each API operation (test/cli/live.test.ts holds the
 * OpenAPI document to this table: every route has a command; src/cli/ implements them).
 */
export const API_COMMANDS: Record<string, string> = {
  'GET /healthz': 'shadowtap health',
  'GET /readyz': 'shadowtap health',
  'GET /metrics': 'shadowtap metrics',
  'GET /v1/status': 'shadowtap status',
  'GET /v1/policy': 'shadowtap policy show',
  'PUT /v1/policy': 'shadowtap policy apply FILE [--diff]',
  'POST /v1/policy/validate': 'shadowtap policy validate FILE --url URL',
  'GET /v1/sessions': 'shadowtap sessions list / shadowtap counters',
  'POST /v1/sessions': 'shadowtap sessions add',
  'GET /v1/sessions/{id}': 'shadowtap sessions show ID',
  'PUT /v1/sessions/{id}': 'shadowtap sessions update ID FILE',
  'DELETE /v1/sessions/{id}': 'shadowtap sessions rm ID',
  'POST /v1/sessions/{id}/enable': 'shadowtap sessions enable ID',
  'POST /v1/sessions/{id}/disable': 'shadowtap sessions disable ID',
  'GET /v1/plan': 'shadowtap plan --url URL [--json]',
  'GET /v1/plan/explain': 'shadowtap plan --url URL --explain',
  'GET /v1/ports': 'shadowtap ports',
  'GET /v1/profiles': 'shadowtap profiles',
  'GET /v1/maps': 'shadowtap maps export',
  'PUT /v1/maps': 'shadowtap maps import FILE',
  'POST /v1/topology/export': 'shadowtap topology export --in FILE --url URL',
  'POST /v1/topology/import': 'shadowtap topology import --in FILE',
  'GET /v1/config': 'shadowtap config export',
  'PUT /v1/config': 'shadowtap config import FILE',
  'GET /v1/events': 'shadowtap events [--follow]',
  'GET /v1/reliability': 'shadowtap reliability',
  'POST /v1/reliability/forward-only/clear': 'shadowtap reliability clear-forward-only',
  'GET /v1/detections': 'shadowtap detections [--detector D] [--severity S] [--json]',
  'GET /v1/openapi.json': 'shadowtap openapi',
  'GET /v1/docs': 'shadowtap openapi --html',
};
