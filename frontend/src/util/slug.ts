// Slug rules of towerfile.md §3, with the server's exact messages, so the UI
// can refuse a bad team or app slug before sending it.

const SLUG_RE = /^[a-z][a-z0-9-]{2,31}$/
const RESERVED = new Set(['api', 'admin', 'system', 'internal', 'default'])

/** Returns the server's message for a slug that breaks the rules, or null when it is valid. */
export function slugError(slug: string): string | null {
  const bytes = new TextEncoder().encode(slug).length
  if (bytes === 0) return 'slug cannot be empty'
  if (bytes < 3) return 'slug must be at least 3 characters'
  if (bytes > 32) return 'slug must be at most 32 characters'
  if (!SLUG_RE.test(slug)) return 'slug must start with a letter and contain only lowercase letters, numbers, and hyphens'
  if (RESERVED.has(slug)) return 'slug is reserved'
  return null
}
