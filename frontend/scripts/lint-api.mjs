// Validates docs/openapi.yaml against the OpenAPI 3.1 schema with
// @readme/openapi-parser (structure, $refs, duplicate operationIds), then
// checks a few project rules: every operation has an operationId and responses,
// every path of api.md §0.11 is described, and every other operation is a row
// of docs/api-endpoints.md. Prints TAP; exits 1 on failure.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse, validate } from '@readme/openapi-parser'

const file = fileURLToPath(new URL('../../docs/openapi.yaml', import.meta.url))

// The routing table of api.md §0.11 (path templates as in the document).
const requiredPaths = {
  '/health': ['get'],
  '/ready': ['get'],
  '/metrics': ['get'],
  '/api/v1/auth/options': ['get'],
  '/api/v1/teams/signup': ['post'],
  '/api/v1/teams/login': ['post'],
  '/api/v1/bootstrap/team': ['post'],
  '/api/v1/me': ['get'],
  '/api/v1/tokens': ['get', 'post'],
  '/api/v1/tokens/{id}': ['delete'],
  '/api/v1/apps': ['get', 'post'],
  '/api/v1/apps/{app}': ['get'],
  '/api/v1/apps/{app}/versions': ['get', 'post'],
  '/api/v1/apps/{app}/runs': ['get', 'post'],
  '/api/v1/runs': ['get'],
  '/api/v1/runs/summary': ['get'],
  '/api/v1/runs/{run}': ['get'],
  '/api/v1/runs/{run}/cancel': ['post'],
  '/api/v1/runs/{run}/logs': ['get', 'post'],
  '/api/v1/runs/{run}/logs/stream': ['get'],
  '/api/v1/runs/{run}/attempts': ['get'],
  '/api/v1/admin/runners': ['get'],
  '/api/v1/runners/register': ['post'],
  '/api/v1/runs/lease': ['post'],
  '/api/v1/runs/{run}/start': ['post'],
  '/api/v1/runs/{run}/heartbeat': ['post'],
  '/api/v1/runs/{run}/result': ['post'],
  '/api/v1/runs/{run}/artifact': ['get'],
  '/api/v1/runs/{run}/release': ['post'],
  '/': ['get'],
}

let n = 0
let failed = 0
function check(ok, name, detail) {
  n++
  if (!ok) failed++
  console.log(`${ok ? 'ok' : 'not ok'} ${n} - ${name}`)
  if (!ok && detail) console.log(String(detail).replace(/^/gm, '# '))
}

let result
try {
  result = await validate(file)
} catch (e) {
  result = { valid: false, errors: [{ message: e?.message ?? String(e) }] }
}
check(result.valid, 'openapi.yaml is a valid OpenAPI 3.1 document',
  result.valid ? '' : result.errors.map((e) => e.message).join('\n'))
for (const w of result.warnings ?? []) console.log(`# warning: ${w.message}`)
if (!result.valid) {
  console.log(`1..${n}`)
  process.exit(1)
}

// validate() dereferences its input; parse it again for the raw structure.
const api = await parse(file)
check(api.openapi?.startsWith('3.1'), 'document declares OpenAPI 3.1')

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']
const missing = []
for (const [path, ms] of Object.entries(requiredPaths)) {
  for (const m of ms) if (!api.paths?.[path]?.[m]) missing.push(`${m.toUpperCase()} ${path}`)
}
check(missing.length === 0, 'every route of api.md §0.11 is described', missing.join('\n'))

// Operations beyond api.md §0.11 are additions of ours: each must also be a
// row of the catalogue in docs/api-endpoints.md ("| METHOD, ... | `path` ... |").
const catalogue = readFileSync(new URL('../../docs/api-endpoints.md', import.meta.url), 'utf8')
  .split('\n').filter((l) => l.startsWith('| ')).map((l) => l.split('|').map((c) => c.trim()))
function catalogued(method, path) {
  return catalogue.some((c) => c[1]?.split(/,\s*/).includes(method.toUpperCase()) && c[2]?.includes('`' + path + '`'))
}

const extra = []
const noId = []
const noErr = []
for (const [path, item] of Object.entries(api.paths ?? {})) {
  for (const m of methods) {
    const op = item[m]
    if (!op) continue
    if (!requiredPaths[path]?.includes(m) && !catalogued(m, path)) extra.push(`${m.toUpperCase()} ${path}`)
    if (!op.operationId) noId.push(`${m.toUpperCase()} ${path}`)
    const codes = Object.keys(op.responses ?? {})
    if (path !== '/' && path !== '/health' && !codes.some((c) => c >= '400')) noErr.push(`${m.toUpperCase()} ${path}`)
  }
}
check(extra.length === 0, 'no operation outside api.md and docs/api-endpoints.md', extra.join('\n'))
check(noId.length === 0, 'every operation has an operationId', noId.join('\n'))
check(noErr.length === 0, 'every operation documents its errors', noErr.join('\n'))

const errCodes = api.components?.schemas?.ErrorCode?.enum ?? []
const specCodes = ['invalid_request', 'invalid_slug', 'no_version', 'invalid_artifact', 'TOWERFILE_MISSING',
  'TOWERFILE_INVALID', 'unauthorized', 'forbidden', 'not_found', 'method_not_allowed', 'slug_taken', 'team_exists',
  'conflict', 'idempotency_conflict', 'gone', 'payload_too_large', 'internal', 'too_many_requests', 'unavailable']
const lost = specCodes.filter((c) => !errCodes.includes(c))
check(lost.length === 0 && errCodes.length === specCodes.length, 'ErrorCode lists exactly the codes of api.md §0.7', lost.join(', '))

console.log(`1..${n}`)
process.exit(failed ? 1 : 0)
