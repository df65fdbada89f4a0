import { afterEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick } from 'vue'
import { ApiError } from '@/api/client'
import { clearQueryCache, invalidate, useQuery } from './useQuery'

const flush = () => new Promise((r) => setTimeout(r, 0))

afterEach(() => clearQueryCache())

describe('useQuery', () => {
  it('retries a failed request once, then reports the error', async () => {
    const fetcher = vi.fn()
      .mockRejectedValueOnce(new ApiError(503, 'server busy'))
      .mockRejectedValueOnce(new ApiError(503, 'server busy again'))
    const scope = effectScope()
    const q = scope.run(() => useQuery(() => 'k1', fetcher))!
    await flush()
    expect(fetcher).toHaveBeenCalledTimes(2)
    expect(q.error.value?.message).toBe('server busy again')
    scope.stop()
  })

  it('does not retry a 404', async () => {
    const fetcher = vi.fn().mockRejectedValue(new ApiError(404, 'run not found'))
    const scope = effectScope()
    const q = scope.run(() => useQuery(() => 'k2', fetcher))!
    await flush()
    expect(fetcher).toHaveBeenCalledTimes(1)
    expect(q.error.value?.status).toBe(404)
    scope.stop()
  })

  it('serves fresh cached data without refetching, and refetches after invalidate()', async () => {
    const fetcher = vi.fn().mockResolvedValue(['a'])
    const s1 = effectScope()
    s1.run(() => useQuery(() => 'apps:list', fetcher))
    await flush()
    s1.stop()
    const s2 = effectScope()
    const q = s2.run(() => useQuery(() => 'apps:list', fetcher))!
    await nextTick()
    expect(q.data.value).toEqual(['a'])
    expect(fetcher).toHaveBeenCalledTimes(1)
    invalidate('apps:')
    await flush()
    expect(fetcher).toHaveBeenCalledTimes(2)
    s2.stop()
  })

  it('fetches nothing for a null key', async () => {
    const fetcher = vi.fn().mockResolvedValue(1)
    const scope = effectScope()
    scope.run(() => useQuery(() => null, fetcher))
    await flush()
    expect(fetcher).not.toHaveBeenCalled()
    scope.stop()
  })
})
