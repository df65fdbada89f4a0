import { describe, expect, it } from 'vitest'
import type { ParamsSchema } from '@/api/client'
import { buildInput, fieldsFromSchema, initialValues, parseJsonObject, parseMaxRetries, parsePriority } from './paramsForm'

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', default: 'World', description: 'Who to greet' },
    count: { type: 'integer', default: 3 },
    ratio: { type: 'number' },
    loud: { type: 'boolean', default: false },
    tags: { type: 'array' },
  },
} as unknown as ParamsSchema

describe('fieldsFromSchema', () => {
  it('maps every property to a field, sorted by name', () => {
    const fs = fieldsFromSchema(schema)
    expect(fs.map((f) => [f.name, f.kind, f.hasDefault])).toEqual([
      ['count', 'integer', true], ['loud', 'boolean', true], ['name', 'string', true], ['ratio', 'number', false],
      ['tags', 'json', false],
    ])
    expect(fs.find((f) => f.name === 'name')?.description).toBe('Who to greet')
  })

  it('has no fields without a schema', () => {
    expect(fieldsFromSchema(undefined)).toEqual([])
  })

  it('treats a missing type as string and a nullable type as its base type', () => {
    const fs = fieldsFromSchema({ type: 'object', properties: { a: {}, b: { type: ['integer', 'null'] } } } as unknown as ParamsSchema)
    expect(fs.map((f) => f.kind)).toEqual(['string', 'integer'])
  })
})

describe('initialValues and buildInput', () => {
  const fs = fieldsFromSchema(schema)

  it('pre-fills defaults', () => {
    expect(initialValues(fs)).toEqual({ count: '3', loud: 'false', name: 'World', ratio: '', tags: '' })
  })

  it('builds typed input from the defaults, leaving empty fields out', () => {
    expect(buildInput(fs, initialValues(fs))).toEqual({ input: { count: 3, loud: false, name: 'World' }, errors: {} })
  })

  it('converts numbers, integers, booleans and JSON', () => {
    const r = buildInput(fs, { count: ' -7 ', loud: 'true', name: ' spaced ', ratio: '2.5e3', tags: '["a"]' })
    expect(r.errors).toEqual({})
    expect(r.input).toEqual({ count: -7, loud: true, name: ' spaced ', ratio: 2500, tags: ['a'] })
  })

  it('reports type errors per field', () => {
    const r = buildInput(fs, { count: '1.5', loud: 'maybe', name: '', ratio: 'abc', tags: '[' })
    expect(r.errors).toEqual({
      count: 'count must be an integer',
      loud: 'loud must be true or false',
      ratio: 'ratio must be a number',
      tags: 'tags must be valid JSON',
    })
    expect(buildInput(fs, { count: '99999999999999999999' }).errors.count).toBe('count must be an integer')
    expect(buildInput(fs, { ratio: 'Infinity' }).errors.ratio).toBe('ratio must be a number')
    expect(buildInput(fs, { ratio: '1e999' }).errors.ratio).toBe('ratio must be a number')
  })

  it('merges extra JSON keys, fields winning', () => {
    expect(buildInput(fs, { name: 'x' }, '{"name":"y","extra":1}').input).toEqual({ name: 'x', extra: 1 })
    expect(buildInput(fs, {}, '[1]').errors.extra).toBe('input must be a JSON object')
  })
})

describe('parseJsonObject', () => {
  it('accepts objects and empty text only', () => {
    expect(parseJsonObject('')).toEqual({})
    expect(parseJsonObject('{"a":1}')).toEqual({ a: 1 })
    expect(parseJsonObject('null')).toBeInstanceOf(Error)
    expect(parseJsonObject('"s"')).toBeInstanceOf(Error)
    expect(parseJsonObject('{')).toBeInstanceOf(Error)
  })
})

describe('priority and max_retries', () => {
  it('uses the server messages and bounds', () => {
    expect(parsePriority('')).toBeUndefined()
    expect(parsePriority('-2147483648')).toBe(-2147483648)
    expect(parsePriority('2147483647')).toBe(2147483647)
    expect((parsePriority('2147483648') as Error).message).toBe('priority must be between -2147483648 and 2147483647')
    expect(parsePriority('1.0')).toBeInstanceOf(Error)
    expect(parseMaxRetries('1000')).toBe(1000)
    expect((parseMaxRetries('-1') as Error).message).toBe('max_retries must be between 0 and 1000')
    expect(parseMaxRetries('1001')).toBeInstanceOf(Error)
    expect(parseMaxRetries('1e1')).toBeInstanceOf(Error)
  })
})
