// Short confirmations of actions ("Run #12 cancelled"), shown by ToastRegion
// in an aria-live region and dropped after a few seconds.
import { reactive } from 'vue'

export interface Toast {
  id: number
  text: string
  tone: 'success' | 'error' | 'info'
}

export const toasts = reactive<Toast[]>([])
let next = 1

/** Shows `text` for `ms` (default 5 s); returns the toast's id. */
export function toast(text: string, tone: Toast['tone'] = 'success', ms = 5000): number {
  const id = next++
  toasts.push({ id, text, tone })
  setTimeout(() => dismiss(id), ms)
  return id
}

export function dismiss(id: number): void {
  const i = toasts.findIndex((t) => t.id === id)
  if (i >= 0) toasts.splice(i, 1)
}
