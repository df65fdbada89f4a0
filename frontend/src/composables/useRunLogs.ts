// Live logs of a run: follows the SSE stream (src/api/logFollower.ts) while
// the component lives and exposes the lines, the latest status seen on the
// stream, the attempt boundaries and the connection state. The newest
// MAX_LINES lines are kept; older ones are dropped from the view.
import { onScopeDispose, ref, shallowRef, watch, type Ref } from 'vue'
import { api, type LogEntry, type Run, type RunStatus } from '@/api'
import { LogFollower, type FollowState } from '@/api/logFollower'

export const MAX_LINES = 200_000

export type LogItem =
  | { kind: 'line'; key: string; seq: number; stream: LogEntry['stream']; line: string; logged_at: string }
  | { kind: 'attempt'; key: string; attempt: number }

export function useRunLogs(runId: Ref<number>) {
  const items = shallowRef<LogItem[]>([])
  const dropped = ref(0)
  const status = ref<RunStatus | null>(null)
  const state = ref<FollowState>('connecting')
  const detail = ref<string | null>(null)
  const endRun = shallowRef<Run | null>(null)
  let follower: LogFollower | null = null
  let segment = 0

  let pending: LogItem[] = []

  // Lines arriving in one chunk are added together: one new array per flush, so views see a new reference.
  function flush(): void {
    if (pending.length === 0) return
    let next = items.value.concat(pending)
    pending = []
    if (next.length > MAX_LINES) {
      const extra = next.length - MAX_LINES
      next = next.slice(extra)
      dropped.value += extra
    }
    items.value = next
  }

  function push(item: LogItem): void {
    if (pending.length === 0) queueMicrotask(flush)
    pending.push(item)
  }

  function start(id: number): void {
    follower?.stop()
    pending = []
    items.value = []
    dropped.value = 0
    status.value = null
    endRun.value = null
    detail.value = null
    segment = 0
    const f = new LogFollower({
      openStream: (o) => api.openLogStream(id, o),
      onLine: (e) => push({ kind: 'line', key: `${segment}:${e.seq}`, seq: e.seq, stream: e.stream, line: e.line,
        logged_at: e.logged_at }),
      onStatus: (s) => {
        status.value = s
      },
      onAttempt: (n) => {
        segment++
        push({ kind: 'attempt', key: `a${segment}:${n}`, attempt: n })
      },
      onEnd: (run) => {
        flush()
        endRun.value = run
        status.value = run.status
      },
      onState: (s, d) => {
        state.value = s
        detail.value = d ?? null
      },
    })
    follower = f
    void f.run()
  }

  /** Starts following again after a failure (the "Reconnect" button). */
  function retry(): void {
    start(runId.value)
  }

  watch(runId, (id) => start(id), { immediate: true })
  onScopeDispose(() => follower?.stop())

  return { items, dropped, status, state, detail, endRun, retry }
}
