// Chart data from a stats answer (GET /runs/stats, /apps/{app}/stats): bucket
// labels in UTC (day buckets are UTC days), the series of each chart, and
// stacking for the outcome bars. Kept apart from the chart component so the
// numbers the table shows are the numbers the chart draws, and can be tested.
import type { RunStats } from '@/api/client'
import { formatDuration } from './format'

export interface Series {
  label: string
  color: string
  values: (number | null)[]
  /** How a value reads in the table ("12", "85.0 %", "1.2 s"). */
  format?: (v: number) => string
}

export interface ChartData {
  labels: string[]
  series: Series[]
}

export const OUTCOME_COLORS = { completed: '#2e9d5b', failed: '#d64545', dead: '#9b4dca', cancelled: '#8a8f98' }

/** "12-05" for a day bucket, "12-05 14:00" for an hour bucket (UTC). */
export function bucketLabel(start: string, bucket: RunStats['bucket']): string {
  const iso = new Date(start).toISOString()
  return bucket === 'day' ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 13)}:00`
}

function labels(s: RunStats): string[] {
  return s.buckets.map((b) => bucketLabel(b.start, s.bucket))
}

/** Runs per bucket by final status (the stacked bars). */
export function outcomeChart(s: RunStats): ChartData {
  const keys = ['completed', 'failed', 'dead', 'cancelled'] as const
  return {
    labels: labels(s),
    series: keys.map((k) => ({ label: k, color: OUTCOME_COLORS[k], values: s.buckets.map((b) => b[k]) })),
  }
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`

/** Success rate per bucket (null where nothing completed, failed or died). */
export function successChart(s: RunStats): ChartData {
  return {
    labels: labels(s),
    series: [{ label: 'success rate', color: OUTCOME_COLORS.completed, format: pct,
      values: s.buckets.map((b) => b.success_rate ?? null) }],
  }
}

/** p50/p95 of duration_ms or wait_ms per bucket (null where no run started). */
export function percentileChart(s: RunStats, kind: 'duration_ms' | 'wait_ms'): ChartData {
  const ms = (v: number) => formatDuration(v)
  return {
    labels: labels(s),
    series: [
      { label: 'p50', color: '#2f7fd8', format: ms, values: s.buckets.map((b) => b[kind]?.p50 ?? null) },
      { label: 'p95', color: '#e07b1a', format: ms, values: s.buckets.map((b) => b[kind]?.p95 ?? null) },
    ],
  }
}

/** Cumulative sums, bottom series first: what each stacked bar's top reaches. */
export function stack(series: Series[]): (number | null)[][] {
  const out: (number | null)[][] = []
  let acc: number[] = series[0]?.values.map(() => 0) ?? []
  for (const s of series) {
    acc = acc.map((a, i) => a + (s.values[i] ?? 0))
    out.push([...acc])
  }
  return out
}

export { pct as formatRate }
