// Geometry of the virtualised log viewer: the top of every row (fixed-height
// rows, or rows of as many screen lines as a wrapped line needs in a
// monospace font), the window of rows to render for a scroll position, and
// the search over the lines. Pure functions, so the viewer stays thin.
import type { LogItem } from '@/composables/useRunLogs'

export const ROW_PX = 20

/** Prefix sums of row heights: tops[i] is row i's top, tops[n] the total height. wrapCols 0: no wrapping. */
export function rowTops(items: LogItem[], wrapCols: number): Float64Array {
  const tops = new Float64Array(items.length + 1)
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    const rows = wrapCols > 0 && it.kind === 'line' ? Math.max(1, Math.ceil(it.line.length / wrapCols)) : 1
    tops[i + 1] = tops[i]! + rows * ROW_PX
  }
  return tops
}

/** The first row whose bottom is below `y` (binary search). */
export function rowAt(tops: Float64Array, y: number): number {
  let lo = 0
  let hi = tops.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (tops[mid + 1]! <= y) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** [first, end) rows to render for the viewport [scrollTop, scrollTop+height), with `overscan` rows either side. */
export function visibleRange(tops: Float64Array, scrollTop: number, height: number, overscan = 20): [number, number] {
  const n = tops.length - 1
  if (n <= 0) return [0, 0]
  const first = Math.max(0, rowAt(tops, scrollTop) - overscan)
  const end = Math.min(n, rowAt(tops, scrollTop + height) + 1 + overscan)
  return [first, end]
}

/** Indices of the line items containing `q` (case-insensitive); [] for an empty query. */
export function findMatches(items: LogItem[], q: string): number[] {
  if (!q) return []
  const needle = q.toLowerCase()
  const out: number[] = []
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    if (it.kind === 'line' && it.line.toLowerCase().includes(needle)) out.push(i)
  }
  return out
}

/** "03:04:05.123" in the browser's time zone. */
export function clockTime(ts: string): string {
  const d = new Date(ts)
  if (Number.isNaN(d.getTime())) return ''
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/** The plain-text form of log lines (download and copy): "<logged_at> <stream> <line>". */
export function logText(lines: { logged_at: string; stream: string; line: string }[]): string {
  return lines.map((l) => `${l.logged_at} ${l.stream} ${l.line}`).join('\n') + (lines.length ? '\n' : '')
}
