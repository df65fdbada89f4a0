// Follows a run's log stream until its `end` event, reconnecting when the
// stream drops or stays silent for 45 s (keep-alives arrive every 15 s). A
// reconnection resumes with `Last-Event-ID: <last seq>` (or the starting
// after_seq when no line or attempt event was seen yet), like the CLI
// (cli.md §5); an `attempt` event restarts seq at 0. Back-off doubles from 1 s
// to 30 s; network errors, 5xx, 408 and 429 are retried for at most 5 minutes
// in a row, any other HTTP error ends following.
import { ApiError, type LogEntry, type LogStreamOptions, type Run, type RunStatus } from './client'
import { readEventStream, type SseEvent } from './sse'

export type FollowState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed' | 'stopped'

export interface FollowerHandlers {
  onLine?: (entry: LogEntry) => void
  onStatus?: (status: RunStatus) => void
  onAttempt?: (attemptNo: number) => void
  onEnd?: (run: Run) => void
  onState?: (state: FollowState, detail?: string) => void
}

export interface FollowerOptions extends FollowerHandlers {
  openStream: (o: LogStreamOptions) => Promise<Response>
  afterSeq?: number
  attempt?: number
  idleTimeoutMs?: number
  initialBackoffMs?: number
  maxBackoffMs?: number
  giveUpAfterMs?: number
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  now?: () => number
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(t)
      resolve()
    }, { once: true })
  })
}

/** True for failures worth another try: network errors, 5xx, 408, 429, and streams that dropped. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof ApiError)) return true
  return err.status === 0 || err.status >= 500 || err.status === 408 || err.status === 429
}

export class LogFollower {
  /** seq of the last line received in the current attempt (0 after an `attempt` event). */
  lastSeq = 0
  /** Number of times the stream was (re)opened successfully. */
  connections = 0
  private resumable = false
  private ended = false
  private stopped = new AbortController()
  private current: AbortController | null = null
  private readonly o: FollowerOptions

  constructor(o: FollowerOptions) {
    this.o = o
    this.lastSeq = o.afterSeq ?? 0
  }

  /** Resume options for the next connection. */
  resumeOptions(): LogStreamOptions {
    const base = this.o.attempt !== undefined ? { attempt: this.o.attempt } : {}
    if (this.resumable) return { ...base, lastEventId: this.lastSeq }
    return { ...base, afterSeq: this.o.afterSeq ?? 0 }
  }

  /** Stops following; the promise of run() resolves soon after. */
  stop(): void {
    this.stopped.abort()
    this.current?.abort()
  }

  /** Handles one event of the stream. */
  handle(ev: SseEvent): void {
    let data: unknown
    try {
      data = JSON.parse(ev.data)
    } catch {
      return
    }
    switch (ev.event) {
      case 'log': {
        const entry = data as LogEntry
        if (typeof entry?.seq !== 'number') return
        if (this.resumable && entry.seq <= this.lastSeq) return // already shown before a reconnection
        this.lastSeq = entry.seq
        this.resumable = true
        this.o.onLine?.(entry)
        break
      }
      case 'status':
        if (typeof (data as { status?: unknown })?.status === 'string') this.o.onStatus?.((data as { status: RunStatus }).status)
        break
      case 'attempt': {
        const n = (data as { attempt_no?: unknown })?.attempt_no
        if (typeof n !== 'number') return
        this.lastSeq = 0
        this.resumable = true
        this.o.onAttempt?.(n)
        break
      }
      case 'end':
        this.ended = true
        this.o.onEnd?.(data as Run)
        break
      default:
        break // unknown event types are ignored
    }
  }

  /** Follows until the `end` event, stop(), a non-retryable error or 5 minutes of failures. */
  async run(): Promise<FollowState> {
    const sleep = this.o.sleep ?? defaultSleep
    const now = this.o.now ?? Date.now
    const initial = this.o.initialBackoffMs ?? 1000
    let backoff = initial
    let failingSince: number | null = null
    let first = true
    while (!this.ended && !this.stopped.signal.aborted) {
      this.o.onState?.(first ? 'connecting' : 'reconnecting')
      first = false
      const before = this.connections
      try {
        await this.connectOnce()
      } catch (err) {
        if (this.stopped.signal.aborted) break
        if (this.connections > before) {
          // The stream was open and then dropped: a fresh failure sequence starts here.
          failingSince = null
          backoff = initial
        }
        if (!isRetryable(err)) {
          const msg = err instanceof Error ? err.message : String(err)
          this.o.onState?.('failed', msg)
          return 'failed'
        }
        failingSince ??= now()
        if (now() - failingSince >= (this.o.giveUpAfterMs ?? 300_000)) {
          const msg = err instanceof Error ? err.message : String(err)
          this.o.onState?.('failed', `lost connection to server: ${msg}`)
          return 'failed'
        }
      }
      if (this.ended || this.stopped.signal.aborted) break
      await sleep(backoff, this.stopped.signal)
      backoff = Math.min(backoff * 2, this.o.maxBackoffMs ?? 30_000)
    }
    const final: FollowState = this.ended ? 'ended' : 'stopped'
    this.o.onState?.(final)
    return final
  }

  /** One connection: open, read until the server closes or the idle timer fires. */
  private async connectOnce(): Promise<void> {
    const ctrl = new AbortController()
    this.current = ctrl
    let idle: ReturnType<typeof setTimeout> | undefined
    let timedOut = false
    const idleMs = this.o.idleTimeoutMs ?? 45_000
    const arm = () => {
      if (idle) clearTimeout(idle)
      idle = setTimeout(() => {
        timedOut = true
        ctrl.abort()
      }, idleMs)
    }
    try {
      arm()
      const res = await this.o.openStream({ ...this.resumeOptions(), signal: ctrl.signal })
      if (!res.body) throw new ApiError(0, 'the event stream has no body')
      this.connections++
      this.o.onState?.('live')
      await readEventStream(res.body, (ev) => this.handle(ev), arm)
      if (!this.ended) throw new ApiError(0, 'the event stream closed')
    } catch (err) {
      if (timedOut) throw new ApiError(0, 'no data from the server for 45 s')
      if ((err as Error)?.name === 'AbortError' && !this.stopped.signal.aborted) throw new ApiError(0, 'aborted')
      throw err
    } finally {
      if (idle) clearTimeout(idle)
      this.current = null
    }
  }
}
