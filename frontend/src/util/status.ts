// Run status vocabulary (api.md §2.1): the terminal/non-terminal split used by
// the CLI and the UI, and the tone each status badge is drawn in.
import type { RunStatus } from '@/api/client'

export const RUN_STATUSES: RunStatus[] = [
  'queued', 'leased', 'running', 'cancelling', 'completed', 'failed', 'cancelled', 'dead',
]

const TERMINAL = new Set<string>(['completed', 'failed', 'cancelled', 'dead'])

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status)
}

export function isActive(status: string): boolean {
  return status === 'leased' || status === 'running' || status === 'cancelling'
}

export type Tone = 'neutral' | 'info' | 'progress' | 'warning' | 'success' | 'danger' | 'muted'

/** The badge tone of a run, attempt or runner status; unknown statuses are neutral. */
export function statusTone(status: string): Tone {
  switch (status) {
    case 'queued':
      return 'neutral'
    case 'leased':
      return 'info'
    case 'running':
    case 'online':
      return 'progress'
    case 'cancelling':
      return 'warning'
    case 'completed':
      return 'success'
    case 'failed':
    case 'dead':
    case 'expired':
      return 'danger'
    case 'cancelled':
    case 'offline':
      return 'muted'
    default:
      return 'neutral'
  }
}
