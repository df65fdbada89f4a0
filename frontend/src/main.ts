// Entry point: mounts the app, and wires the API client's 401 handler to the
// session (sign out, clear cached data, go to the sign-in page).
import { createApp } from 'vue'
import App from './App.vue'
import { currentTarget, router } from './router'
import { onUnauthorized } from '@/api'
import { clearSession, session } from '@/stores/session'
import { clearQueryCache, invalidate } from '@/composables/useQuery'
import { configureConnectivity } from '@/stores/connectivity'
import { installNavigation } from './navigation'
import './style.css'

onUnauthorized(() => {
  if (!session.token) return
  clearSession('Your session has ended (the token is no longer valid). Please sign in again.')
  clearQueryCache()
  if (router.currentRoute.value.name !== 'login') {
    const back = currentTarget()
    void router.replace({ name: 'login', query: back !== '/' ? { redirect: back } : {} })
  }
})

configureConnectivity({ onBack: () => invalidate('') })
installNavigation(router)

createApp(App).use(router).mount('#app')
