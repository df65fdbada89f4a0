import { afterEach, describe, expect, it, vi } from 'vitest'
import { effectScope, ref } from 'vue'
import { api } from '@/api'
import { useRunLogs } from './useRunLogs'

const flush = () => new Promise((r) => setTimeout(r, 10))

function stream(text: string): Response {
  return new Response(text, { status: 200, headers: { 'Content-Type': 'text/event-stream' } })
}

afterEach(() => vi.restoreAllMocks())

describe('useRunLogs', () => {
  it('collects lines, attempt markers, status and the end run', async () => {
    const body = 'event: status\ndata: {"status":"running"}\n\n' +
      'event: log\nid: 1\ndata: {"seq":1,"stream":"stdout","line":"a","logged_at":"2026-11-27T03:04:06.412Z"}\n\n' +
      'event: attempt\ndata: {"attempt_no":2}\n\n' +
      'event: log\nid: 1\ndata: {"seq":1,"stream":"stderr","line":"b","logged_at":"2026-11-27T03:04:06.412Z"}\n\n' +
      'event: end\ndata: {"run_id":5,"status":"failed"}\n\n'
    const open = vi.spyOn(api, 'openLogStream').mockResolvedValue(stream(body))
    const scope = effectScope()
    const logs = scope.run(() => useRunLogs(ref(5)))!
    await flush()
    expect(open).toHaveBeenCalledWith(5, expect.objectContaining({ afterSeq: 0 }))
    expect(logs.items.value.map((i) => (i.kind === 'line' ? `${i.stream}:${i.line}` : `attempt ${i.attempt}`)))
      .toEqual(['stdout:a', 'attempt 2', 'stderr:b'])
    // keys stay unique although seq restarts with the attempt
    expect(new Set(logs.items.value.map((i) => i.key)).size).toBe(3)
    expect(logs.status.value).toBe('failed')
    expect(logs.endRun.value).toMatchObject({ run_id: 5 })
    expect(logs.state.value).toBe('ended')
    scope.stop()
  })

  it('restarts when the run id changes', async () => {
    const open = vi.spyOn(api, 'openLogStream').mockImplementation(async (id: number) =>
      stream(`event: log\nid: 1\ndata: {"seq":1,"stream":"stdout","line":"run ${id}","logged_at":"x"}\n\nevent: end\ndata: {"run_id":${id},"status":"completed"}\n\n`))
    const id = ref(1)
    const scope = effectScope()
    const logs = scope.run(() => useRunLogs(id))!
    await flush()
    id.value = 2
    await flush()
    expect(open).toHaveBeenCalledTimes(2)
    expect(logs.items.value.map((i) => (i.kind === 'line' ? i.line : ''))).toEqual(['run 2'])
    scope.stop()
  })
})
