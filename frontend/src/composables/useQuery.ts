// A small data-fetching hook with the refresh rules of observability.md §3.5:
// results are cached by key and count as fresh for 10 s (a page opened again
// within that time shows them without refetching), a failed request is retried
// once, and a query can refresh itself on an interval. Mutations call
// invalidate() so every mounted query under a key prefix refetches.
import { onScopeDispose, ref, shallowRef, watch, type Ref, type ShallowRef } from 'vue'
import { ApiError } from '@/api/client'

export const FRESH_MS = 10_000

interface Entry {
  data: unknown
  at: number
}

const cache = new Map<string, Entry>()
const active = new Set<{ key: () => string | null; refresh: () => Promise<void> }>()

/** Drops cached results whose key starts with one of the prefixes and refetches the mounted queries among them. */
export function invalidate(...prefixes: string[]): void {
  for (const k of [...cache.keys()]) if (prefixes.some((p) => k.startsWith(p))) cache.delete(k)
  for (const q of active) {
    const k = q.key()
    if (k && prefixes.some((p) => k.startsWith(p))) void q.refresh()
  }
}

/** Forgets every cached result (on sign-out). */
export function clearQueryCache(): void {
  cache.clear()
}

export interface QueryOptions {
  /** Refresh interval in ms, or a function returning it (undefined: no polling). */
  refetchMs?: number | (() => number | undefined)
  /** Retries after a failure (default 1). */
  retry?: number
}

export interface Query<T> {
  data: ShallowRef<T | undefined>
  error: Ref<ApiError | null>
  loading: Ref<boolean>
  /** Fetches now, whatever the cache says. */
  refresh: () => Promise<void>
}

function shouldRetry(err: unknown): boolean {
  if (!(err instanceof ApiError)) return (err as Error)?.name !== 'AbortError'
  return err.status === 0 || err.status >= 500 || err.status === 408 || err.status === 429
}

/**
 * Runs `fetcher` for the current `key` (null: nothing to fetch). Re-runs when the key changes, on
 * refresh(), on invalidate() and every `refetchMs`.
 */
export function useQuery<T>(key: () => string | null, fetcher: (signal: AbortSignal) => Promise<T>,
  opts: QueryOptions = {}): Query<T> {
  const data = shallowRef<T | undefined>(undefined)
  const error = ref<ApiError | null>(null)
  const loading = ref(false)
  let ctrl: AbortController | null = null
  let timer: ReturnType<typeof setTimeout> | undefined
  let disposed = false

  async function refresh(): Promise<void> {
    const k = key()
    if (k === null || disposed) return
    ctrl?.abort()
    const mine = new AbortController()
    ctrl = mine
    loading.value = true
    const retries = opts.retry ?? 1
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await fetcher(mine.signal)
        if (mine.signal.aborted) return
        cache.set(k, { data: result, at: Date.now() })
        data.value = result
        error.value = null
        break
      } catch (e) {
        if (mine.signal.aborted) return
        if (attempt < retries && shouldRetry(e)) continue
        error.value = e instanceof ApiError ? e : new ApiError(0, (e as Error)?.message ?? String(e))
        break
      }
    }
    if (ctrl === mine) loading.value = false
    schedule()
  }

  function schedule(): void {
    if (timer) clearTimeout(timer)
    timer = undefined
    const ms = typeof opts.refetchMs === 'function' ? opts.refetchMs() : opts.refetchMs
    if (ms && !disposed) timer = setTimeout(() => void refresh(), ms)
  }

  function load(): void {
    const k = key()
    if (k === null) {
      data.value = undefined
      return
    }
    const hit = cache.get(k)
    if (hit) {
      data.value = hit.data as T
      error.value = null
      if (Date.now() - hit.at < FRESH_MS) {
        schedule()
        return
      }
    } else {
      data.value = undefined
    }
    void refresh()
  }

  const handle = { key, refresh }
  active.add(handle)
  watch(key, load, { immediate: true })
  onScopeDispose(() => {
    disposed = true
    active.delete(handle)
    ctrl?.abort()
    if (timer) clearTimeout(timer)
  })
  return { data, error, loading, refresh }
}
