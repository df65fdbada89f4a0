import { describe, expect, it } from 'vitest'
import { fireTimeBoth, formatInZone } from './zoneTime'

describe('zoneTime', () => {
  it('formats a fire time in the schedule zone, DST included', () => {
    expect(formatInZone('2026-07-01T10:00:00.000Z', 'America/New_York')).toBe('2026-07-01 06:00 EDT')
    expect(formatInZone('2026-12-01T11:00:00.000Z', 'America/New_York')).toBe('2026-12-01 06:00 EST')
    expect(formatInZone('2026-12-01T03:45:00.000Z', 'Asia/Kathmandu')).toMatch(/^2026-12-01 09:30 /)
    expect(formatInZone('2026-12-01T03:45:07.000Z', 'UTC')).toBe('2026-12-01 03:45:07 UTC')
  })

  it('adds the viewer zone only when it differs', () => {
    const ts = '2026-12-01T11:00:00.000Z'
    expect(fireTimeBoth(ts, 'UTC', 'UTC')).toBe('2026-12-01 11:00 UTC')
    expect(fireTimeBoth(ts, 'America/New_York', 'Europe/Paris')).toBe('2026-12-01 06:00 EST (local: 2026-12-01 12:00 GMT+1)')
    expect(fireTimeBoth(undefined, 'UTC')).toBe('—')
  })
})
