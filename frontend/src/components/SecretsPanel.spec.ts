import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import SecretsPanel from './SecretsPanel.vue'
import { api, type Secret } from '@/api'
import { clearSession, setMe } from '@/stores/session'
import { clearQueryCache } from '@/composables/useQuery'

const rows: Secret[] = [
  { name: 'DB_URL', app: 'hello', version: 2, created_at: '2026-12-01T00:00:00Z', updated_at: '2026-12-02T00:00:00Z', updated_by: 'ci' },
  { name: 'TOKEN', environment: 'gpu', version: 1, created_at: '2026-12-01T00:00:00Z', updated_at: '2026-12-01T00:00:00Z' },
]

afterEach(() => {
  clearSession(null)
  clearQueryCache()
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
})

describe('SecretsPanel', () => {
  it('lists names and scopes, never a value', async () => {
    setMe({ team_id: 1, team_slug: 'acme', token_id: 1, role: 'admin' })
    const list = vi.spyOn(api, 'listSecrets').mockResolvedValue(rows)
    const w = mount(SecretsPanel)
    await flushPromises()
    expect(list).toHaveBeenCalledWith(undefined, expect.anything())
    expect(w.find('[data-secret=DB_URL] [data-col=scope]').text()).toBe('app hello')
    expect(w.find('[data-secret=TOKEN] [data-col=scope]').text()).toBe('environment gpu')
    expect(w.find('#secret-value').attributes('type')).toBe('password')
    expect(w.text()).not.toContain('value')
  })

  it('saves through a password field and clears the value', async () => {
    setMe({ team_id: 1, team_slug: 'acme', token_id: 1, role: 'admin' })
    vi.spyOn(api, 'listSecrets').mockResolvedValue([])
    const put = vi.spyOn(api, 'putSecret').mockResolvedValue({ name: 'API_KEY', app: 'hello', version: 1, warning: undefined })
    const w = mount(SecretsPanel, { props: { app: 'hello' } })
    await flushPromises()
    expect(w.find('#secret-app').exists()).toBe(false) // fixed to the app
    await w.find('#secret-name').setValue('API_KEY')
    await w.find('#secret-value').setValue('s3cr3t-value')
    await w.find('[data-testid=secret-form]').trigger('submit')
    await flushPromises()
    expect(put).toHaveBeenCalledWith('API_KEY', { value: 's3cr3t-value', app: 'hello' })
    expect((w.find('#secret-value').element as HTMLInputElement).value).toBe('')
    expect(w.find('[data-testid=secret-notice]').text()).toContain('API_KEY saved (version 1)')
    expect(w.html()).not.toContain('s3cr3t-value')
  })

  it('deletes with the row\'s scope only after confirmation', async () => {
    setMe({ team_id: 1, team_slug: 'acme', token_id: 1, role: 'admin' })
    vi.spyOn(api, 'listSecrets').mockResolvedValue(rows)
    const del = vi.spyOn(api, 'deleteSecret').mockResolvedValue(undefined)
    const confirm = vi.fn().mockReturnValueOnce(false).mockReturnValueOnce(true)
    vi.stubGlobal('confirm', confirm)
    const w = mount(SecretsPanel)
    await flushPromises()
    const button = w.find('[data-secret=DB_URL] button')
    await button.trigger('click')
    expect(del).not.toHaveBeenCalled()
    await button.trigger('click')
    await flushPromises()
    expect(confirm).toHaveBeenCalledTimes(2)
    expect(del).toHaveBeenCalledWith('DB_URL', { app: 'hello' })
  })

  it('members see the list without the form or delete buttons', async () => {
    setMe({ team_id: 1, team_slug: 'acme', token_id: 2, role: 'member' })
    vi.spyOn(api, 'listSecrets').mockResolvedValue(rows)
    const w = mount(SecretsPanel)
    await flushPromises()
    expect(w.find('[data-testid=secret-form]').exists()).toBe(false)
    expect(w.find('[data-secret=DB_URL] button').exists()).toBe(false)
    expect(w.text()).toContain('needs an admin token')
  })
})
