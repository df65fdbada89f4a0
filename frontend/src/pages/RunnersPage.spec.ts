import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import RunnersPage from './RunnersPage.vue'
import { api } from '@/api'
import { clearSession, setMe } from '@/stores/session'
import { clearQueryCache } from '@/composables/useQuery'

afterEach(() => {
  clearSession(null)
  clearQueryCache()
})

describe('RunnersPage', () => {
  it('shows each runner\'s sandbox and limits, "unknown" when not said', async () => {
    setMe({ team_id: 1, team_slug: 'acme', token_id: 1, role: 'admin' })
    vi.spyOn(api, 'listRunners').mockResolvedValue([
      { runner_id: 1, name: 'boxed', environment: 'default', status: 'online', sandbox: 'bwrap', limits: 'cgroup-v1', slots: 4, slots_used: 3 },
      { runner_id: 2, name: 'old', environment: 'default', status: 'offline', slots: 1, slots_used: 0 },
    ])
    const w = mount(RunnersPage)
    await flushPromises()
    const boxed = w.find('[data-runner=boxed]')
    expect(boxed.find('[data-col=sandbox]').text()).toBe('bwrap')
    expect(boxed.find('[data-col=limits]').text()).toBe('cgroup-v1')
    const old = w.find('[data-runner=old]')
    expect(old.find('[data-col=sandbox]').text()).toBe('unknown')
    expect(old.find('[data-col=sandbox] .muted').exists()).toBe(true)
    expect(old.find('[data-col=limits]').text()).toBe('unknown')
    expect(w.findAll('thead th').map((t) => t.text())).toEqual(['Name', 'Environment', 'Status', 'Last seen', 'Sandbox', 'Limits', 'Slots'])
    expect(boxed.find('[data-col=slots]').text()).toBe('3 / 4')
    expect(boxed.find('[data-col=slots]').attributes('title')).toBe('3 of 4 slots in use')
    expect(old.find('[data-col=slots]').text()).toBe('0 / 1')
  })
})
