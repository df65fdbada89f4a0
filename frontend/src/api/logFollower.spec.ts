import { describe, expect, it } from 'vitest'
import { ApiError, type LogStreamOptions } from './client'
import { LogFollower, isRetryable } from './logFollower'

function log(seq: number, line: string, stream = 'stdout'): string {
  return `event: log\nid: ${seq}\ndata: ${JSON.stringify({ seq, stream, line, logged_at: '2026-11-27T03:04:06.412Z' })}\n\n`
}
const status = (s: string) => `event: status\ndata: {"status":"${s}"}\n\n`
const end = (s: string) => `event: end\ndata: {"run_id":1,"status":"${s}"}\n\n`
const attempt = (n: number) => `event: attempt\ndata: {"attempt_no":${n}}\n\n`

/** A scripted server: each connection answers the next script (text to stream, or an error to throw). */
function scripted(scripts: (string | ApiError)[]) {
  const opened: LogStreamOptions[] = []
  const openStream = async (o: LogStreamOptions): Promise<Response> => {
    opened.push({ afterSeq: o.afterSeq, attempt: o.attempt, lastEventId: o.lastEventId })
    const s = scripts.shift()
    if (s === undefined) throw new ApiError(0, 'no more scripts')
    if (s instanceof ApiError) throw s
    return new Response(s, { status: 200, headers: { 'Content-Type': 'text/event-stream' } })
  }
  return { opened, openStream }
}

function follower(scripts: (string | ApiError)[], extra: Partial<ConstructorParameters<typeof LogFollower>[0]> = {}) {
  const server = scripted(scripts)
  const lines: string[] = []
  const statuses: string[] = []
  const attempts: number[] = []
  const states: string[] = []
  const sleeps: number[] = []
  let ended: unknown = null
  const f = new LogFollower({
    openStream: server.openStream,
    onLine: (e) => lines.push(`${e.stream}:${e.seq}:${e.line}`),
    onStatus: (s) => statuses.push(s),
    onAttempt: (n) => attempts.push(n),
    onEnd: (r) => { ended = r },
    onState: (s) => states.push(s),
    sleep: async (ms) => { sleeps.push(ms) },
    idleTimeoutMs: 5000,
    ...extra,
  })
  return { f, server, lines, statuses, attempts, states, sleeps, ended: () => ended }
}

describe('LogFollower', () => {
  it('follows one stream to its end event', async () => {
    const t = follower([status('running') + log(1, 'a') + log(2, 'b', 'stderr') + status('completed') + end('completed')])
    expect(await t.f.run()).toBe('ended')
    expect(t.lines).toEqual(['stdout:1:a', 'stderr:2:b'])
    expect(t.statuses).toEqual(['running', 'completed'])
    expect(t.ended()).toMatchObject({ status: 'completed' })
    expect(t.server.opened).toEqual([{ afterSeq: 0, attempt: undefined, lastEventId: undefined }])
    expect(t.states).toEqual(['connecting', 'live', 'ended'])
  })

  it('resumes with Last-Event-ID after a drop and skips lines already shown', async () => {
    const t = follower([
      status('running') + log(1, 'a') + log(2, 'b'),
      status('running') + log(2, 'b') + log(3, 'c') + end('completed'),
    ])
    expect(await t.f.run()).toBe('ended')
    expect(t.lines).toEqual(['stdout:1:a', 'stdout:2:b', 'stdout:3:c'])
    expect(t.server.opened[1]).toEqual({ afterSeq: undefined, attempt: undefined, lastEventId: 2 })
    expect(t.states).toContain('reconnecting')
  })

  it('reconnects with the starting after_seq when nothing was received yet', async () => {
    const t = follower([status('queued'), new ApiError(503, 'server busy'), log(6, 'x') + end('completed')], { afterSeq: 5 })
    expect(await t.f.run()).toBe('ended')
    expect(t.server.opened.map((o) => [o.afterSeq, o.lastEventId])).toEqual([[5, undefined], [5, undefined], [5, undefined]])
    expect(t.sleeps).toEqual([1000, 2000])
  })

  it('restarts seq at an attempt event and resumes from the new attempt', async () => {
    const t = follower([
      log(1, 'a') + log(2, 'b') + attempt(2) + log(1, 'retry-a'),
      log(2, 'retry-b') + end('completed'),
    ])
    expect(await t.f.run()).toBe('ended')
    expect(t.attempts).toEqual([2])
    expect(t.lines).toEqual(['stdout:1:a', 'stdout:2:b', 'stdout:1:retry-a', 'stdout:2:retry-b'])
    expect(t.server.opened[1].lastEventId).toBe(1)
  })

  it('sends Last-Event-ID 0 after an attempt event without lines', async () => {
    const t = follower([log(1, 'a') + attempt(2), end('dead')])
    await t.f.run()
    expect(t.server.opened[1].lastEventId).toBe(0)
  })

  it('stops on a non-retryable HTTP error', async () => {
    const t = follower([new ApiError(404, 'run not found')])
    expect(await t.f.run()).toBe('failed')
    expect(t.states.at(-1)).toBe('failed')
    expect(t.server.opened).toHaveLength(1)
  })

  it('doubles the back-off up to the maximum and gives up after the time limit', async () => {
    let clock = 0
    const errs = Array.from({ length: 20 }, () => new ApiError(0, 'down'))
    const t = follower(errs, {
      now: () => clock,
      sleep: async (ms: number) => { t.sleeps.push(ms); clock += ms },
      maxBackoffMs: 8000,
      giveUpAfterMs: 30_000,
    })
    expect(await t.f.run()).toBe('failed')
    expect(t.sleeps).toEqual([1000, 2000, 4000, 8000, 8000, 8000])
  })

  it('ignores unknown events and malformed data', async () => {
    const t = follower(['event: weird\ndata: {}\n\nevent: log\ndata: not json\n\n' + log(1, 'ok') + end('completed')])
    await t.f.run()
    expect(t.lines).toEqual(['stdout:1:ok'])
  })

  it('treats a silent stream as dropped', async () => {
    let n = 0
    const openStream = async (o: LogStreamOptions): Promise<Response> => {
      n++
      if (n === 2) return new Response(end('completed'), { status: 200 })
      // never sends anything, never closes
      const body = new ReadableStream<Uint8Array>({
        start(c) { o.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError'))) },
      })
      return new Response(body, { status: 200 })
    }
    const f = new LogFollower({ openStream, idleTimeoutMs: 20, sleep: async () => {} })
    expect(await f.run()).toBe('ended')
    expect(n).toBe(2)
  })

  it('stop() ends following', async () => {
    const openStream = async (o: LogStreamOptions): Promise<Response> => {
      const body = new ReadableStream<Uint8Array>({
        start(c) { o.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError'))) },
      })
      return new Response(body, { status: 200 })
    }
    const f = new LogFollower({ openStream })
    const done = f.run()
    await new Promise((r) => setTimeout(r, 10))
    f.stop()
    expect(await done).toBe('stopped')
  })
})

describe('isRetryable', () => {
  it('retries network errors, 5xx, 408 and 429 only', () => {
    expect(isRetryable(new ApiError(0, 'x'))).toBe(true)
    expect(isRetryable(new ApiError(503, 'x'))).toBe(true)
    expect(isRetryable(new ApiError(408, 'x'))).toBe(true)
    expect(isRetryable(new ApiError(429, 'x'))).toBe(true)
    expect(isRetryable(new ApiError(401, 'x'))).toBe(false)
    expect(isRetryable(new ApiError(404, 'x'))).toBe(false)
  })
})
