// Display helpers for timestamps (RFC 3339 from the API) and durations.

/** "2026-11-27 03:04:05" in the browser's time zone, or "—" when absent. */
export function formatTime(ts: string | undefined | null): string {
  if (!ts) return '—'
  const d = new Date(ts)
  if (Number.isNaN(d.getTime())) return ts
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** Human duration of a millisecond count: "850 ms", "4.2 s", "3 m 05 s", "2 h 01 m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.floor(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`
}

/** Duration between two timestamps; `to` defaults to now (for a run still going). */
export function between(from: string | undefined, to: string | undefined, now = Date.now()): string {
  if (!from) return '—'
  const a = Date.parse(from)
  const b = to ? Date.parse(to) : now
  return formatDuration(b - a)
}

/** "3 min ago" style age of a timestamp. */
export function ago(ts: string | undefined, now = Date.now()): string {
  if (!ts) return 'never'
  const s = Math.round((now - Date.parse(ts)) / 1000)
  if (!Number.isFinite(s)) return ts
  if (s < 5) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

/** The browser's time zone name ("Europe/Berlin"), or "UTC±hh:mm" when Intl does not know it. */
export function zoneName(d = new Date()): string {
  try {
    const z = Intl.DateTimeFormat().resolvedOptions().timeZone
    if (z) return z
  } catch {
    // fall through to the offset
  }
  const off = -d.getTimezoneOffset()
  const p = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0')
  return `UTC${off >= 0 ? '+' : '-'}${p(off / 60)}:${p(off % 60)}`
}

/** "2026-11-27 03:04:05 Europe/Berlin": the absolute time with its zone (for a title), or "" when absent. */
export function absoluteTime(ts: string | undefined | null): string {
  if (!ts) return ''
  const d = new Date(ts)
  if (Number.isNaN(d.getTime())) return ts
  return `${formatTime(ts)} ${zoneName(d)}`
}

/** "in 5 min" / "3 min ago": ago() that also reads timestamps slightly in the future (clock skew) as just now. */
export function relativeTime(ts: string | undefined | null, now = Date.now()): string {
  if (!ts) return '—'
  const t = Date.parse(ts)
  if (!Number.isFinite(t)) return ts
  return ago(ts, Math.max(now, t))
}
