// Checks real API responses against docs/openapi.yaml: every JSON response the
// browser receives during the browser tests is matched to its operation and
// status and validated (JSON Schema 2020-12, via ajv) with undeclared fields
// refused, so the document and the server cannot drift apart silently.
import Ajv2020 from 'ajv/dist/2020.js'
import { dereference } from '@readme/openapi-parser'

const METHODS = ['get', 'put', 'post', 'delete', 'patch']

/** Copies a schema, adding additionalProperties:false to object schemas that list properties and allow nothing else. */
function closed(schema, seen = new Map()) {
  if (schema === null || typeof schema !== 'object') return schema
  if (seen.has(schema)) return seen.get(schema)
  const out = Array.isArray(schema) ? [] : {}
  seen.set(schema, out)
  for (const [k, v] of Object.entries(schema)) out[k] = closed(v, seen)
  if (!Array.isArray(schema) && schema.properties && schema.additionalProperties === undefined) {
    out.additionalProperties = false
  }
  return out
}

export async function loadChecker(file) {
  const api = await dereference(file)
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
  const routes = []
  for (const [tpl, item] of Object.entries(api.paths)) {
    const re = new RegExp(`^${tpl.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}|\{[^}]+\}/g, '[^/]+')}/?$`)
    routes.push({ tpl, re, item, literal: !tpl.includes('{') })
  }
  // Exact paths win over templates (/api/v1/runs/summary is not /api/v1/runs/{run}).
  routes.sort((a, b) => Number(b.literal) - Number(a.literal))
  const compiled = new Map()

  /** Returns null when the response matches the document, else a description of the problem. */
  function check(method, pathname, status, body) {
    const r = routes.find((x) => x.re.test(pathname) && x.item[method.toLowerCase()])
    if (!r) return `${method} ${pathname}: no such operation in openapi.yaml`
    const op = r.item[method.toLowerCase()]
    const res = op.responses?.[String(status)]
    if (!res) return `${method} ${r.tpl}: status ${status} is not documented`
    const schema = res.content?.['application/json']?.schema
    if (!schema) return body === undefined ? null : `${method} ${r.tpl} ${status}: a JSON body is not documented`
    const key = `${method} ${r.tpl} ${status}`
    if (!compiled.has(key)) compiled.set(key, ajv.compile(closed(schema)))
    const validate = compiled.get(key)
    if (validate(body)) return null
    return `${key}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`
  }
  return { check, METHODS }
}
