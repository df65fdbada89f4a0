// The application's API client instance: same origin unless VITE_API_BASE_URL
// is set at build time, the token from the session store, and a 401 handler
// that the router installs (sign out, back to the sign-in page).
import { createApiClient, type ApiError } from './client'
import { session } from '@/stores/session'
import { reportReachable } from '@/stores/connectivity'

let unauthorizedHandler: (err: ApiError) => void = () => {}

/** Installs what happens when an authenticated call gets 401 (set once in main.ts). */
export function onUnauthorized(fn: (err: ApiError) => void): void {
  unauthorizedHandler = fn
}

export const api = createApiClient({
  baseUrl: import.meta.env.VITE_API_BASE_URL ?? '',
  getToken: () => session.token,
  onUnauthorized: (err) => unauthorizedHandler(err),
  onReachable: reportReachable,
})

export * from './client'
