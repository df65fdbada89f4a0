import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import SignInPage from './SignInPage.vue'
import { api, ApiError } from '@/api'
import { clearSession, session } from '@/stores/session'
import { clearQueryCache } from '@/composables/useQuery'

function makeRouter() {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/login', component: SignInPage },
      { path: '/', component: { template: '<p>home</p>' } },
      { path: '/runs', component: { template: '<p>runs</p>' } },
    ],
  })
  return router
}

async function mountAt(url: string, signupEnabled: boolean) {
  vi.spyOn(api, 'authOptions').mockResolvedValue({ signup_enabled: signupEnabled, bootstrap_enabled: false })
  const router = makeRouter()
  await router.push(url)
  const w = mount(SignInPage, { global: { plugins: [router] } })
  await flushPromises()
  return { w, router }
}

afterEach(() => {
  clearSession(null)
  clearQueryCache()
  localStorage.clear()
})

describe('SignInPage', () => {
  it('offers sign-up only when the server allows it', async () => {
    expect((await mountAt('/login', false)).w.find('[data-testid=signup-tab]').exists()).toBe(false)
    clearQueryCache()
    expect((await mountAt('/login', true)).w.find('[data-testid=signup-tab]').exists()).toBe(true)
  })

  it('signs in, stores the token and goes to the redirect target', async () => {
    const login = vi.spyOn(api, 'login').mockResolvedValue({ team_id: 1, token: 'mtk_new', token_id: 3, role: 'admin' })
    const { w, router } = await mountAt('/login?redirect=/runs', false)
    await w.get('#auth-slug').setValue('acme')
    await w.get('#auth-password').setValue('pw')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(login).toHaveBeenCalledWith({ slug: 'acme', password: 'pw' })
    expect(session.token).toBe('mtk_new')
    expect(localStorage.getItem('minitower_token')).toBe('mtk_new')
    expect(router.currentRoute.value.fullPath).toBe('/runs')
  })

  it('shows the server message on a failed login', async () => {
    vi.spyOn(api, 'login').mockRejectedValue(new ApiError(401, 'invalid slug or password', 'unauthorized'))
    const { w } = await mountAt('/login', false)
    await w.get('#auth-slug').setValue('acme')
    await w.get('#auth-password').setValue('bad')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[role=alert]').text()).toBe('invalid slug or password')
    expect(session.token).toBeNull()
  })

  it('checks the team slug before signing up', async () => {
    const signup = vi.spyOn(api, 'signup')
    const { w } = await mountAt('/login', true)
    await w.get('[data-testid=signup-tab]').trigger('click')
    await w.get('#auth-slug').setValue('Bad_Slug')
    await w.get('#auth-name').setValue('Team')
    await w.get('#auth-password').setValue('pw')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(signup).not.toHaveBeenCalled()
    expect(w.text()).toContain('slug must start with a letter and contain only lowercase letters, numbers, and hyphens')
  })

  it('ignores redirect targets on other origins', async () => {
    vi.spyOn(api, 'login').mockResolvedValue({ team_id: 1, token: 'mtk_new', token_id: 3, role: 'admin' })
    const { w, router } = await mountAt('/login?redirect=//evil.example/x', false)
    await w.get('#auth-slug').setValue('acme')
    await w.get('#auth-password').setValue('pw')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(router.currentRoute.value.fullPath).toBe('/')
  })

  it('signs in with an API token after checking it with GET /me', async () => {
    const me = vi.spyOn(api, 'meWithToken').mockResolvedValue({ team_id: 1, team_slug: 'acme', token_id: 9, role: 'member' })
    const { w, router } = await mountAt('/login', false)
    await w.get('[data-testid=token-mode]').trigger('click')
    await w.get('#auth-token').setValue('  mtk_member  ')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(me).toHaveBeenCalledWith('mtk_member')
    expect(session.token).toBe('mtk_member')
    expect(session.me?.role).toBe('member')
    expect(router.currentRoute.value.fullPath).toBe('/')
  })

  it('refuses a bad API token without storing it', async () => {
    vi.spyOn(api, 'meWithToken').mockRejectedValue(new ApiError(401, 'invalid or missing token', 'unauthorized'))
    const { w } = await mountAt('/login', false)
    await w.get('[data-testid=token-mode]').trigger('click')
    await w.get('#auth-token').setValue('mtk_bad')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[role=alert]').text()).toBe('invalid or missing token')
    expect(session.token).toBeNull()
    expect(localStorage.getItem('minitower_token')).toBeNull()
  })
})
