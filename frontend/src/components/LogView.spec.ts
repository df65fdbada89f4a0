import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import LogView from './LogView.vue'
import type { LogItem } from '@/composables/useRunLogs'

const items: LogItem[] = [
  { kind: 'line', key: '0:1', seq: 1, stream: 'stdout', line: 'hello', logged_at: '2026-11-27T03:04:06.412Z' },
  { kind: 'line', key: '0:2', seq: 2, stream: 'stderr', line: 'oops', logged_at: '2026-11-27T03:04:06.412Z' },
  { kind: 'attempt', key: 'a1:2', attempt: 2 },
  { kind: 'line', key: '1:1', seq: 1, stream: 'stdout', line: 'again', logged_at: '2026-11-27T03:04:06.412Z' },
]

describe('LogView', () => {
  it('tells stdout from stderr and marks attempt boundaries', () => {
    const w = mount(LogView, { props: { items, live: true } })
    const lines = w.findAll('.logs__line')
    expect(lines).toHaveLength(3)
    expect(lines[0].classes()).toContain('logs__line--stdout')
    expect(lines[0].find('.logs__tag').exists()).toBe(false)
    expect(lines[1].classes()).toContain('logs__line--stderr')
    expect(lines[1].attributes('data-stream')).toBe('stderr')
    expect(lines[1].find('.logs__tag').text()).toBe('err')
    expect(w.find('.logs__attempt').text()).toContain('attempt 2')
    expect(w.text()).toContain('3 lines')
  })

  it('pauses and resumes auto-scroll with the button', async () => {
    const w = mount(LogView, { props: { items, live: true } })
    const btn = w.get('[data-testid=follow-toggle]')
    expect(btn.attributes('aria-pressed')).toBe('false')
    expect(btn.text()).toBe('Pause auto-scroll')
    await btn.trigger('click')
    expect(btn.attributes('aria-pressed')).toBe('true')
    expect(btn.text()).toBe('Follow')
    await btn.trigger('click')
    expect(btn.text()).toBe('Pause auto-scroll')
  })

  it('says so while waiting for output', () => {
    expect(mount(LogView, { props: { items: [], live: true } }).text()).toContain('Waiting for output')
    expect(mount(LogView, { props: { items: [], live: false } }).text()).toContain('No output.')
  })
})
