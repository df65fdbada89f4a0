import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import StatusBadge from './StatusBadge.vue'
import { RUN_STATUSES, isActive, isTerminal, statusTone } from '@/util/status'

describe('StatusBadge', () => {
  it('shows the status text with a tone class for every run status', () => {
    const tones = new Map<string, string>()
    for (const s of RUN_STATUSES) {
      const w = mount(StatusBadge, { props: { status: s } })
      expect(w.text()).toBe(s)
      expect(w.attributes('data-status')).toBe(s)
      expect(w.classes()).toContain(`badge--${statusTone(s)}`)
      tones.set(s, statusTone(s))
    }
    expect(tones.get('completed')).toBe('success')
    expect(tones.get('failed')).toBe('danger')
    expect(tones.get('dead')).toBe('danger')
    expect(tones.get('cancelling')).toBe('warning')
    expect(tones.get('running')).not.toBe(tones.get('queued'))
  })

  it('renders unknown statuses neutrally', () => {
    const w = mount(StatusBadge, { props: { status: 'mystery' } })
    expect(w.classes()).toContain('badge--neutral')
    expect(w.text()).toBe('mystery')
  })
})

describe('status split', () => {
  it('matches api.md §2.1', () => {
    expect(RUN_STATUSES.filter(isTerminal)).toEqual(['completed', 'failed', 'cancelled', 'dead'])
    expect(RUN_STATUSES.filter(isActive)).toEqual(['leased', 'running', 'cancelling'])
  })
})
