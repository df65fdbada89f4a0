// Turns a version's params_schema (towerfile.md §4.1) into form fields, and
// form values back into a run input with client-side type checks. Values are
// kept as strings while editing; an empty field is left out of the input, so
// the server applies the parameter's default (towerfile.md §4.4).
import type { ParamsSchema } from '@/api/client'

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'json'

export interface Field {
  name: string
  kind: FieldKind
  description?: string
  hasDefault: boolean
  default?: unknown
}

const SIMPLE = new Set<FieldKind>(['string', 'number', 'integer', 'boolean'])

function kindOf(type: unknown): FieldKind {
  if (typeof type === 'string') return SIMPLE.has(type as FieldKind) ? (type as FieldKind) : 'json'
  if (Array.isArray(type)) {
    const useful = type.filter((t) => t !== 'null')
    if (useful.length === 1) return kindOf(useful[0])
  }
  return type === undefined ? 'string' : 'json'
}

/** The fields of a schema, in key order; no schema means no fields (any JSON object is accepted). */
export function fieldsFromSchema(schema: ParamsSchema | null | undefined): Field[] {
  const props = (schema?.properties ?? {}) as Record<string, { type?: unknown; description?: unknown; default?: unknown }>
  return Object.keys(props).sort().map((name) => {
    const p = props[name] ?? {}
    const f: Field = { name, kind: kindOf(p.type), hasDefault: 'default' in p }
    if (typeof p.description === 'string' && p.description) f.description = p.description
    if (f.hasDefault) f.default = p.default
    return f
  })
}

/** Initial form values: every default pre-filled, the rest empty. */
export function initialValues(fields: Field[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of fields) {
    if (!f.hasDefault || f.default === null || f.default === undefined) {
      out[f.name] = ''
    } else if (f.kind === 'json' || typeof f.default === 'object') {
      out[f.name] = JSON.stringify(f.default)
    } else {
      out[f.name] = String(f.default)
    }
  }
  return out
}

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/
const INTEGER_RE = /^[+-]?\d+$/

/** Parses one field value; returns the value, undefined for "leave out", or an Error with the message to show. */
export function parseField(f: Field, raw: string): unknown {
  const v = f.kind === 'string' ? raw : raw.trim()
  if (v === '') return undefined
  switch (f.kind) {
    case 'string':
      return v
    case 'number': {
      const n = Number(v)
      if (!NUMBER_RE.test(v) || !Number.isFinite(n)) return new Error(`${f.name} must be a number`)
      return n
    }
    case 'integer': {
      const n = Number(v)
      if (!INTEGER_RE.test(v) || !Number.isSafeInteger(n)) return new Error(`${f.name} must be an integer`)
      return n
    }
    case 'boolean':
      if (v === 'true') return true
      if (v === 'false') return false
      return new Error(`${f.name} must be true or false`)
    case 'json':
      try {
        return JSON.parse(v) as unknown
      } catch {
        return new Error(`${f.name} must be valid JSON`)
      }
  }
}

/** Parses free-form JSON input; it must be an object. Empty text means {}. */
export function parseJsonObject(text: string, label = 'input'): Record<string, unknown> | Error {
  if (text.trim() === '') return {}
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    return new Error(`${label} must be valid JSON: ${(e as Error).message}`)
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return new Error(`${label} must be a JSON object`)
  return v as Record<string, unknown>
}

export interface BuiltInput {
  input: Record<string, unknown>
  /** Field name (or "extra") → message; empty when the input is valid. */
  errors: Record<string, string>
}

/** Builds the run input from the field values plus optional extra JSON keys (fields win). */
export function buildInput(fields: Field[], values: Record<string, string>, extraJson = ''): BuiltInput {
  const errors: Record<string, string> = {}
  let input: Record<string, unknown> = {}
  const extra = parseJsonObject(extraJson)
  if (extra instanceof Error) errors.extra = extra.message
  else input = { ...extra }
  for (const f of fields) {
    const v = parseField(f, values[f.name] ?? '')
    if (v instanceof Error) errors[f.name] = v.message
    else if (v !== undefined) input[f.name] = v
  }
  return { input, errors }
}

const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

/** Client-side check of the priority field with the server's message; '' means the default (0). */
export function parsePriority(raw: string): number | undefined | Error {
  const v = raw.trim()
  if (v === '') return undefined
  const n = Number(v)
  if (!INTEGER_RE.test(v) || n < INT32_MIN || n > INT32_MAX) {
    return new Error('priority must be between -2147483648 and 2147483647')
  }
  return n
}

/** Client-side check of max_retries with the server's message; '' means the default (0). */
export function parseMaxRetries(raw: string): number | undefined | Error {
  const v = raw.trim()
  if (v === '') return undefined
  const n = Number(v)
  if (!INTEGER_RE.test(v) || n < 0 || n > 1000) return new Error('max_retries must be between 0 and 1000')
  return n
}
