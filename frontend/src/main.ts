// Entry point: mounts the app, and wires the API client's 401 handler to the
// session (sign out, clear cached data, go to the sign-in page).
import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { onUnauthorized } from '@/api'
import { clearSession, session } from '@/stores/session'
import { clearQueryCache } from '@/composables/useQuery'
import './style.css'

onUnauthorized(() => {
  if (!session.token) return
  clearSession('Your session has ended (the token is no longer valid). Please sign in again.')
  clearQueryCache()
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    void router.replace({ name: 'login', query: current.fullPath !== '/' ? { redirect: current.fullPath } : {} })
  }
})

createApp(App).use(router).mount('#app')
