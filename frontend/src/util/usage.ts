// What an attempt used and why it ended (AttemptRecord's reason and usage
// figures), and what a version asks of its sandbox, in words for the UI.
import type { Resources } from '@/api/client'

const REASONS: Record<string, string> = {
  completed: 'Completed',
  exit_code: 'Non-zero exit code',
  signal: 'Killed by a signal',
  timeout: 'Timed out',
  lease_expired: 'Lease expired',
  released: 'Released by the runner',
  cancelled: 'Cancelled',
  oom_killed: 'Out of memory',
  setup_failed: 'Setup failed',
  disk_limit: 'Disk limit reached',
}

/** A readable label for an attempt's reason; an unknown reason is shown as sent. */
export function reasonLabel(reason: string): string {
  return REASONS[reason] ?? reason
}

/** "212.4 MiB" for a byte count (binary units); "512 B" below 1 KiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—'
  if (n < 1024) return `${Math.round(n)} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(1)} ${units[u]}`
}

/** "1.23 s user, 0.10 s sys"; one half alone when only one is known; '' when neither. */
export function formatCpu(userMs?: number, systemMs?: number): string {
  const parts: string[] = []
  if (userMs !== undefined) parts.push(`${(userMs / 1000).toFixed(2)} s user`)
  if (systemMs !== undefined) parts.push(`${(systemMs / 1000).toFixed(2)} s sys`)
  return parts.join(', ')
}

/** The resources of a version as label/value pairs, in the API's order. */
export function resourceItems(r: Resources | undefined): { label: string; value: string }[] {
  if (!r) return []
  const out: { label: string; value: string }[] = []
  if (r.memory_mb !== undefined) out.push({ label: 'Memory', value: `${r.memory_mb} MiB` })
  if (r.cpus !== undefined) out.push({ label: 'CPUs', value: String(r.cpus) })
  if (r.pids !== undefined) out.push({ label: 'Processes', value: String(r.pids) })
  if (r.disk_mb !== undefined) out.push({ label: 'Disk', value: `${r.disk_mb} MiB` })
  if (r.open_files !== undefined) out.push({ label: 'Open files', value: String(r.open_files) })
  return out
}
