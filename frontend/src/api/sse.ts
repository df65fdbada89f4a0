// Server-Sent Events parsing for the run log stream (api.md §1.6.9), following
// the WHATWG event-stream rules: lines end in LF, CR or CRLF; `data` lines are
// joined with LF; comment lines (": keep-alive") dispatch nothing; an event
// without data is dropped. The parser is fed text chunks of any size.

export interface SseEvent {
  /** The `event` field, or "message" when absent. */
  event: string
  data: string
  /** The `id` field of this event, when it had one. */
  id?: string
}

/** Incremental event-stream parser: push() text chunks, get complete events back. */
export class SseParser {
  private buf = ''
  private event = ''
  private data: string[] = []
  private id: string | undefined
  private hasData = false
  private sawBom = false
  private pendingCR = false

  /** Feeds one chunk; returns the events completed by it. */
  push(chunk: string): SseEvent[] {
    if (!this.sawBom) {
      if (chunk.length === 0) return []
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
      this.sawBom = true
    }
    // A CR at the end of the previous chunk already ended its line: skip the LF of its CRLF.
    if (this.pendingCR && chunk.startsWith('\n')) chunk = chunk.slice(1)
    this.pendingCR = false
    this.buf += chunk
    const out: SseEvent[] = []
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf)
      if (!m) break
      // A lone CR at the very end may be the first half of a CRLF split across chunks.
      const line = this.buf.slice(0, m.index)
      const sepEnd = m.index + m[0].length
      if (m[0] === '\r' && sepEnd === this.buf.length) this.pendingCR = true
      this.buf = this.buf.slice(sepEnd)
      const ev = this.line(line)
      if (ev) out.push(ev)
    }
    return out
  }

  /** Handles one complete line; returns an event when the line was blank and ended one. */
  private line(line: string): SseEvent | null {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return null
    const colon = line.indexOf(':')
    let field = line
    let value = ''
    if (colon >= 0) {
      field = line.slice(0, colon)
      value = line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
    }
    switch (field) {
      case 'event':
        this.event = value
        break
      case 'data':
        this.data.push(value)
        this.hasData = true
        break
      case 'id':
        if (!value.includes('\0')) this.id = value
        break
      default:
        break // `retry` and unknown fields are ignored
    }
    return null
  }

  private dispatch(): SseEvent | null {
    const ev: SseEvent | null = this.hasData
      ? { event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) }
      : null
    this.event = ''
    this.data = []
    this.hasData = false
    this.id = undefined
    return ev
  }
}

/**
 * Reads a fetch Response body as an event stream, calling onEvent for every event and onActivity for
 * every chunk (keep-alives included). Resolves when the server closes the stream.
 */
export async function readEventStream(body: ReadableStream<Uint8Array>, onEvent: (ev: SseEvent) => void,
  onActivity?: () => void): Promise<void> {
  const reader = body.getReader()
  const decoder = new TextDecoder('utf-8')
  const parser = new SseParser()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      onActivity?.()
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) onEvent(ev)
    }
    for (const ev of parser.push(decoder.decode())) onEvent(ev)
  } finally {
    reader.releaseLock()
  }
}
