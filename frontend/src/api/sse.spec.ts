import { describe, expect, it } from 'vitest'
import { SseParser, readEventStream, type SseEvent } from './sse'

const sample = 'event: status\ndata: {"status":"running"}\n\n' +
  'event: log\nid: 17\ndata: {"seq":17,"stream":"stdout","line":"Hello, World","logged_at":"2026-11-27T03:04:06.412Z"}\n\n' +
  ': keep-alive\n\n' +
  'event: end\ndata: {"run_id":42,"status":"completed"}\n\n'

describe('SseParser', () => {
  it('parses the api.md example', () => {
    const evs = new SseParser().push(sample)
    expect(evs.map((e) => e.event)).toEqual(['status', 'log', 'end'])
    expect(evs[1].id).toBe('17')
    expect(JSON.parse(evs[1].data).line).toBe('Hello, World')
    expect(evs[0].id).toBeUndefined()
  })

  it('gives the same events whatever the chunking', () => {
    const whole = new SseParser().push(sample)
    for (const size of [1, 2, 3, 7, 13]) {
      const p = new SseParser()
      const got: SseEvent[] = []
      for (let i = 0; i < sample.length; i += size) got.push(...p.push(sample.slice(i, i + size)))
      expect(got).toEqual(whole)
    }
  })

  it('accepts CRLF and CR line endings, split CRLF included', () => {
    const crlf = sample.replace(/\n/g, '\r\n')
    const cr = sample.replace(/\n/g, '\r')
    const expected = new SseParser().push(sample)
    expect(new SseParser().push(crlf)).toEqual(expected)
    expect(new SseParser().push(cr)).toEqual(expected)
    const p = new SseParser()
    const got: SseEvent[] = []
    for (let i = 0; i < crlf.length; i += 1) got.push(...p.push(crlf[i]))
    expect(got).toEqual(expected)
  })

  it('joins multi-line data, strips one leading space, ignores comments and unknown fields', () => {
    const evs = new SseParser().push('\uFEFF: hello\nretry: 10\nfoo: bar\ndata:a\ndata:  b\n\n')
    expect(evs).toEqual([{ event: 'message', data: 'a\n b' }])
  })

  it('drops events without data and waits for the blank line', () => {
    const p = new SseParser()
    expect(p.push('event: status\n\n')).toEqual([])
    expect(p.push('event: log\nid: 1\ndata: {}\n')).toEqual([])
    expect(p.push('\n')).toEqual([{ event: 'log', id: '1', data: '{}' }])
  })
})

describe('readEventStream', () => {
  it('decodes UTF-8 split across chunks', async () => {
    const bytes = new TextEncoder().encode('event: log\nid: 1\ndata: {"line":"héllo ✓"}\n\n')
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]))
        c.close()
      },
    })
    const got: SseEvent[] = []
    let activity = 0
    await readEventStream(body, (e) => got.push(e), () => activity++)
    expect(got).toHaveLength(1)
    expect(JSON.parse(got[0].data).line).toBe('héllo ✓')
    expect(activity).toBe(bytes.length)
  })
})
