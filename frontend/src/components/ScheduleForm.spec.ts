import { afterEach, describe, expect, it, vi } from 'vitest'
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import ScheduleForm from './ScheduleForm.vue'
import { api, ApiError } from '@/api'

enableAutoUnmount(afterEach)

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('ScheduleForm', () => {
  it('previews the next five fires while typing, debounced, in the schedule zone', async () => {
    vi.useFakeTimers()
    const spy = vi.spyOn(api, 'previewSchedule').mockImplementation(async (cron, timezone) => ({
      cron, timezone, fire_times: ['2026-12-08T11:00:00.000Z', '2026-12-09T11:00:00.000Z'],
    }))
    const w = mount(ScheduleForm, { props: { debounceMs: 300 } })
    await w.get('#sched-cron').setValue('0 6 * * *')
    await w.get('#sched-tz').setValue('America/New_York')
    expect(spy).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(300)
    await flushPromises()
    expect(spy).toHaveBeenCalledTimes(1)
    expect(spy.mock.calls[0].slice(0, 3)).toEqual(['0 6 * * *', 'America/New_York', 5])
    const items = w.findAll('[data-testid=schedule-preview] li').map((li) => li.text())
    expect(items).toHaveLength(2)
    expect(items[0]).toMatch(/^2026-12-08 06:00 EST/)
  })

  it('shows the parser message for a bad expression', async () => {
    vi.spyOn(api, 'previewSchedule').mockRejectedValue(
      new ApiError(400, "cron: day-of-month: 'L' is not supported", 'invalid_request'))
    const w = mount(ScheduleForm, { props: { debounceMs: 0 } })
    await w.get('#sched-cron').setValue('0 0 L * *')
    await new Promise((r) => setTimeout(r, 5))
    await flushPromises()
    expect(w.get('[data-testid=schedule-preview]').text()).toContain("'L' is not supported")
    expect(w.get('#sched-cron').attributes('aria-invalid')).toBe('true')
  })

  it('emits the body and refuses bad fields client-side', async () => {
    vi.spyOn(api, 'previewSchedule').mockResolvedValue({ cron: '', timezone: 'UTC', fire_times: [] })
    const w = mount(ScheduleForm, { props: { debounceMs: 0 } })
    await w.get('#sched-name').setValue('nightly')
    await w.get('#sched-cron').setValue('@daily')
    await w.get('#sched-overlap').setValue('queue_one')
    await w.get('#sched-input').setValue('[1]')
    await w.get('form').trigger('submit')
    expect(w.emitted('submit')).toBeUndefined()
    expect(w.text()).toContain('input must be a JSON object')
    await w.get('#sched-input').setValue('{"full": true}')
    await w.get('#sched-catchup').setValue('600')
    await w.get('form').trigger('submit')
    expect(w.emitted('submit')).toEqual([[{
      name: 'nightly', cron: '@daily', timezone: 'UTC', overlap_policy: 'queue_one', catchup_window_s: 600,
      pause_after_failures: 0, input: { full: true },
    }]])
  })
})
