// Times of schedules: a fire time shown in the schedule's own IANA zone and
// in the viewer's local zone (Intl, no library), for the Schedules tab.

/** "2026-12-08 06:00 EST" in zone tz (an IANA name), or the raw text when it cannot be formatted. */
export function formatInZone(ts: string | undefined | null, tz: string): string {
  if (!ts) return '—'
  const d = new Date(ts)
  if (Number.isNaN(d.getTime())) return ts
  try {
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
      second: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
    }).formatToParts(d)
    const get = (t: string) => parts.find((p) => p.type === t)?.value ?? ''
    const sec = get('second') === '00' ? '' : `:${get('second')}`
    return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}${sec} ${get('timeZoneName')}`
  } catch {
    return ts
  }
}

/** The viewer's own zone name ("Europe/Paris"), "UTC" when the browser does not say. */
export function localZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  } catch {
    return 'UTC'
  }
}

/** The fire time in the schedule's zone and, when the viewer's zone differs, in the viewer's: "a (local: b)". */
export function fireTimeBoth(ts: string | undefined | null, tz: string, viewer = localZone()): string {
  const here = formatInZone(ts, tz)
  if (!ts || viewer === tz) return here
  return `${here} (local: ${formatInZone(ts, viewer)})`
}
