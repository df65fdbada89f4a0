// Route-level robustness and focus: lazily loaded page chunks are retried
// (an outage or a redeploy can make one fail), a chunk that still fails is
// reported in `navError` (App.vue shows it with a retry button), and after
// every change of page the focus moves to the page heading.
import { nextTick, reactive } from 'vue'
import type { Router } from 'vue-router'

export const navError = reactive({ message: '', target: '' })

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Wraps a dynamic import: up to `tries` attempts, 0.5 s then 1 s apart. */
export function retryImport<T>(load: () => Promise<T>, tries = 3): () => Promise<T> {
  return async () => {
    for (let i = 1; ; i++) {
      try {
        return await load()
      } catch (e) {
        if (i >= tries) throw e
        await wait(500 * i)
      }
    }
  }
}

/** Moves focus to the page's h1 (or <main>) once it is rendered; gives up after about 2 s. */
export async function focusHeading(): Promise<void> {
  await nextTick()
  for (let i = 0; i < 20; i++) {
    const h = document.querySelector<HTMLElement>('#main h1')
    if (h) {
      if (!h.hasAttribute('tabindex')) h.setAttribute('tabindex', '-1')
      h.focus()
      return
    }
    await wait(100)
  }
  document.getElementById('main')?.focus()
}

/** Installs the chunk-error reporting and the focus move on `router`. */
export function installNavigation(router: Router): void {
  router.onError((err, to) => {
    navError.message = `This page could not be loaded (${(err as Error)?.message ?? err}). Check the connection and retry.`
    navError.target = to.fullPath
  })
  router.afterEach((to, from, failure) => {
    if (failure) return
    navError.message = ''
    if (from.matched.length > 0 && to.path !== from.path) void focusHeading()
  })
}
