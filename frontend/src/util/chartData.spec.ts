import { describe, expect, it } from 'vitest'
import type { RunStats } from '@/api/client'
import { bucketLabel, outcomeChart, percentileChart, stack, successChart } from './chartData'

const stats: RunStats = {
  bucket: 'day', since: '2026-12-01T00:00:00.000Z', until: '2026-12-02T10:00:00.000Z',
  totals: { runs: 5, completed: 3, failed: 1, cancelled: 1, dead: 0, success_rate: 0.75 },
  buckets: [
    { start: '2026-12-01T00:00:00.000Z', runs: 0, completed: 0, failed: 0, cancelled: 0, dead: 0 },
    { start: '2026-12-02T00:00:00.000Z', runs: 5, completed: 3, failed: 1, cancelled: 1, dead: 0, success_rate: 0.75,
      duration_ms: { p50: 1200, p95: 3400 } },
  ],
}

describe('chartData', () => {
  it('labels buckets in UTC', () => {
    expect(bucketLabel('2026-12-02T00:00:00.000Z', 'day')).toBe('12-02')
    expect(bucketLabel('2026-12-02T14:00:00.000Z', 'hour')).toBe('12-02 14:00')
  })
  it('takes the outcome counts as they are and stacks them', () => {
    const c = outcomeChart(stats)
    expect(c.labels).toEqual(['12-01', '12-02'])
    expect(c.series.map((s) => [s.label, s.values])).toEqual([
      ['completed', [0, 3]], ['failed', [0, 1]], ['dead', [0, 0]], ['cancelled', [0, 1]]])
    expect(stack(c.series).at(-1)).toEqual([0, 5])
  })
  it('leaves gaps where a bucket has no rate or percentile', () => {
    expect(successChart(stats).series[0]!.values).toEqual([null, 0.75])
    const d = percentileChart(stats, 'duration_ms')
    expect(d.series.map((s) => s.values)).toEqual([[null, 1200], [null, 3400]])
    expect(percentileChart(stats, 'wait_ms').series[0]!.values).toEqual([null, null])
  })
})
