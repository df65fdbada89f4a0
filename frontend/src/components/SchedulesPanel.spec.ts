import { afterEach, describe, expect, it, vi } from 'vitest'
import { enableAutoUnmount, flushPromises, mount, RouterLinkStub } from '@vue/test-utils'
import SchedulesPanel from './SchedulesPanel.vue'
import { api, type Schedule } from '@/api'
import { clearQueryCache } from '@/composables/useQuery'

const base: Schedule = {
  schedule_id: 7, app_slug: 'billing', name: 'nightly', cron: '0 6 * * *', timezone: 'America/New_York',
  priority: 0, max_retries: 0, overlap_policy: 'skip', catchup_window_s: 60, enabled: true,
  pause_after_failures: 0, next_fire_at: '2026-12-08T11:00:00.000Z', consecutive_failures: 0,
  created_at: '2026-12-01T00:00:00.000Z', updated_at: '2026-12-01T00:00:00.000Z',
}

enableAutoUnmount(afterEach)

afterEach(() => {
  vi.restoreAllMocks()
  clearQueryCache()
})

function mountPanel() {
  return mount(SchedulesPanel, { props: { app: 'billing' }, global: { stubs: { RouterLink: RouterLinkStub } } })
}

describe('SchedulesPanel', () => {
  it('lists schedules with the next fire in their zone, pauses and resumes', async () => {
    vi.spyOn(api, 'listSchedules').mockResolvedValue([
      base, { ...base, schedule_id: 8, name: 'broken', enabled: false, paused_reason: 'paused after 3 consecutive failed runs' },
    ])
    const pause = vi.spyOn(api, 'pauseSchedule').mockResolvedValue({ ...base, enabled: false })
    const resume = vi.spyOn(api, 'resumeSchedule').mockResolvedValue(base)
    const w = mountPanel()
    await flushPromises()
    expect(w.get('[data-schedule=nightly] [data-col=next]').text()).toMatch(/^2026-12-08 06:00 EST/)
    expect(w.get('[data-schedule=broken] [data-col=state]').text()).toContain('paused after 3 consecutive failed runs')
    await w.get('[data-schedule=nightly] [data-action=pause]').trigger('click')
    await w.get('[data-schedule=broken] [data-action=resume]').trigger('click')
    await flushPromises()
    expect(pause).toHaveBeenCalledWith(7)
    expect(resume).toHaveBeenCalledWith(8)
  })

  it('shows the fire history of the selected schedule with links to runs', async () => {
    vi.spyOn(api, 'listSchedules').mockResolvedValue([base])
    vi.spyOn(api, 'scheduleFires').mockResolvedValue([
      { fire_id: 2, schedule_id: 7, fire_time: '2026-12-07T11:00:00.000Z', outcome: 'created', run_id: 42, created_at: '2026-12-07T11:00:00.010Z' },
      { fire_id: 1, schedule_id: 7, fire_time: '2026-12-06T11:00:00.000Z', outcome: 'failed', reason: 'input does not match schema: $.n has invalid type', created_at: '2026-12-06T11:00:00.010Z' },
    ])
    const w = mountPanel()
    await flushPromises()
    await w.get('[data-schedule=nightly] button.link').trigger('click')
    await flushPromises()
    const hist = w.get('[data-testid=fire-history]')
    const link = hist.getComponent(RouterLinkStub)
    expect(link.props('to')).toBe('/runs/42')
    expect(hist.text()).toContain('input does not match schema')
  })

  it('creates a schedule from the form', async () => {
    vi.spyOn(api, 'listSchedules').mockResolvedValue([])
    vi.spyOn(api, 'previewSchedule').mockResolvedValue({ cron: '', timezone: 'UTC', fire_times: [] })
    const create = vi.spyOn(api, 'createSchedule').mockResolvedValue(base)
    vi.spyOn(api, 'scheduleFires').mockResolvedValue([])
    const w = mountPanel()
    await flushPromises()
    await w.get('[data-testid=new-schedule]').trigger('click')
    await w.get('#sched-name').setValue('nightly')
    await w.get('#sched-cron').setValue('0 6 * * *')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(create).toHaveBeenCalledWith('billing', expect.objectContaining({ name: 'nightly', cron: '0 6 * * *' }))
    expect(w.find('[data-testid=schedule-form]').exists()).toBe(false)
  })
})
