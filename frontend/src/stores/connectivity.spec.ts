import { afterEach, describe, expect, it, vi } from 'vitest'
import { configureConnectivity, connectivity, reportReachable } from './connectivity'

afterEach(() => {
  vi.useRealTimers()
})

describe('connectivity', () => {
  it('probes while unreachable and clears itself when the server answers', async () => {
    vi.useFakeTimers()
    let up = false
    const back = vi.fn()
    const probe = vi.fn(async () => up)
    configureConnectivity({ onBack: back, probe })
    reportReachable(false)
    expect(connectivity.reachable).toBe(false)
    await vi.advanceTimersByTimeAsync(1000)
    expect(probe).toHaveBeenCalledTimes(1)
    expect(connectivity.reachable).toBe(false)
    up = true
    await vi.advanceTimersByTimeAsync(2000)
    expect(connectivity.reachable).toBe(true)
    expect(back).toHaveBeenCalledTimes(1)
  })
  it('an answer to any call clears it at once', () => {
    reportReachable(false)
    reportReachable(true)
    expect(connectivity.reachable).toBe(true)
  })
})
