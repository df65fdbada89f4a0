import { describe, expect, it } from 'vitest'
import { slugError } from './slug'

describe('slugError', () => {
  it('accepts valid slugs, trailing and double hyphens included', () => {
    for (const s of ['abc', 'hello-world', 'a1-', 'a--b', 'a'.repeat(32)]) expect(slugError(s)).toBeNull()
  })

  it('reports the server messages in the server order', () => {
    expect(slugError('')).toBe('slug cannot be empty')
    expect(slugError('ab')).toBe('slug must be at least 3 characters')
    expect(slugError('a'.repeat(33))).toBe('slug must be at most 32 characters')
    expect(slugError('1abc')).toBe('slug must start with a letter and contain only lowercase letters, numbers, and hyphens')
    expect(slugError('Abc')).toBe('slug must start with a letter and contain only lowercase letters, numbers, and hyphens')
    expect(slugError('ab_c')).toBe('slug must start with a letter and contain only lowercase letters, numbers, and hyphens')
    for (const r of ['api', 'admin', 'system', 'internal', 'default']) expect(slugError(r)).toBe('slug is reserved')
  })

  it('counts bytes, not characters', () => {
    expect(slugError('é')).toBe('slug must be at least 3 characters')
    expect(slugError('éé')).toBe('slug must start with a letter and contain only lowercase letters, numbers, and hyphens')
  })
})
