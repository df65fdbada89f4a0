// Client-side routes (createWebHistory: minitowerd answers unknown UI paths
// with index.html). Every page but sign-in needs a token; admin pages check
// the role themselves, since the server is the authority (403).
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { session } from '@/stores/session'
import { retryImport } from './navigation'

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: retryImport(() => import('@/pages/SignInPage.vue')), meta: { public: true, title: 'Sign in' } },
  { path: '/', name: 'dashboard', component: retryImport(() => import('@/pages/DashboardPage.vue')), meta: { title: 'Dashboard' } },
  { path: '/apps', name: 'apps', component: retryImport(() => import('@/pages/AppsPage.vue')), meta: { title: 'Apps' } },
  { path: '/apps/:slug', name: 'app', component: retryImport(() => import('@/pages/AppDetailPage.vue')), props: true, meta: { title: 'App' } },
  { path: '/apps/:slug/run', name: 'run-create', component: retryImport(() => import('@/pages/RunCreatePage.vue')), props: true, meta: { title: 'New run' } },
  { path: '/runs', name: 'runs', component: retryImport(() => import('@/pages/RunsPage.vue')), meta: { title: 'Runs' } },
  { path: '/runs/:id', name: 'run', component: retryImport(() => import('@/pages/RunDetailPage.vue')), props: true, meta: { title: 'Run' } },
  { path: '/secrets', name: 'secrets', component: retryImport(() => import('@/pages/SecretsPage.vue')), meta: { title: 'Secrets' } },
  { path: '/tokens', name: 'tokens', component: retryImport(() => import('@/pages/TokensPage.vue')), meta: { title: 'Tokens' } },
  { path: '/runners', name: 'runners', component: retryImport(() => import('@/pages/RunnersPage.vue')), meta: { title: 'Runners' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: retryImport(() => import('@/pages/NotFoundPage.vue')), meta: { title: 'Not found' } },
]

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
})

let target = '/'

/** The route being navigated to (or shown): where to come back after signing in again. */
export function currentTarget(): string {
  return target
}

router.beforeEach((to) => {
  if (!to.meta.public) target = to.fullPath
  if (!to.meta.public && !session.token) {
    return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
  }
  if (to.name === 'login' && session.token) return { name: 'dashboard' }
  return true
})

router.afterEach((to) => {
  const title = typeof to.meta.title === 'string' ? to.meta.title : ''
  document.title = title ? `${title} · MiniTower` : 'MiniTower'
})
