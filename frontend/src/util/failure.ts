// Why a run failed, in a few words, from its last attempt (AttemptRecord's
// reason, exit code and error message): the runs tables' "Reason" column and
// the run page's header.
import type { AttemptRecord } from '@/api/client'
import { reasonLabel } from './usage'

/** A short failure reason ("exit code 3", "timed out", "lease lost"); '' for a successful or unknown attempt. */
export function failureText(a: AttemptRecord | undefined): string {
  if (!a) return ''
  switch (a.reason) {
    case 'completed':
    case undefined:
      if (a.exit_code !== undefined && a.exit_code !== 0) return `exit code ${a.exit_code}`
      return a.status === 'failed' || a.status === 'expired' ? (a.error_message ?? a.status) : ''
    case 'exit_code':
      return a.exit_code !== undefined ? `exit code ${a.exit_code}` : 'non-zero exit code'
    case 'signal':
      return a.error_message ? `signal (${a.error_message})` : 'killed by a signal'
    case 'timeout':
      return 'timed out'
    case 'lease_expired':
      return 'lease lost'
    default:
      return reasonLabel(a.reason).toLowerCase()
  }
}
