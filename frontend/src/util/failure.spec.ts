import { describe, expect, it } from 'vitest'
import { failureText } from './failure'
import { absoluteTime, relativeTime } from './format'

const base = { attempt_no: 1, runner_name: 'r', status: 'failed' as const }

describe('failureText', () => {
  it('names the exit code, signal, timeout and lost lease', () => {
    expect(failureText({ ...base, reason: 'exit_code', exit_code: 3 })).toBe('exit code 3')
    expect(failureText({ ...base, reason: 'signal', error_message: 'SIGKILL' })).toBe('signal (SIGKILL)')
    expect(failureText({ ...base, reason: 'timeout' })).toBe('timed out')
    expect(failureText({ ...base, status: 'expired', reason: 'lease_expired' })).toBe('lease lost')
    expect(failureText({ ...base, reason: 'oom_killed' })).toBe('out of memory')
  })
  it('is empty for a success and falls back to the exit code without a reason', () => {
    expect(failureText({ ...base, status: 'completed', reason: 'completed', exit_code: 0 })).toBe('')
    expect(failureText({ ...base, exit_code: 2 })).toBe('exit code 2')
    expect(failureText(undefined)).toBe('')
  })
})

describe('times', () => {
  it('gives the absolute time with a zone and a relative age', () => {
    expect(absoluteTime('2026-11-27T03:04:05Z')).toMatch(/^2026-11-2\d \d\d:\d\d:05 \S+$/)
    expect(absoluteTime(undefined)).toBe('')
    const now = Date.parse('2026-11-27T03:10:05Z')
    expect(relativeTime('2026-11-27T03:04:05Z', now)).toBe('6 min ago')
    expect(relativeTime('2026-11-27T03:10:09Z', now)).toBe('just now')
  })
})
