// Session state, the only global store: the team token (kept in
// localStorage['minitower_token']) and the identity it belongs to (GET /me).
// Signing out clears both; a 401 from any authenticated call signs out.
import { reactive, readonly } from 'vue'
import type { Me } from '@/api/client'

export const TOKEN_KEY = 'minitower_token'

function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY) || null
  } catch {
    return null
  }
}

const state = reactive({
  token: storedToken() as string | null,
  me: null as Me | null,
  /** Why the last sign-out happened ('expired' after a 401), shown on the sign-in page. */
  reason: null as string | null,
})

export const session = readonly(state)

/** Stores a new token (after sign-in or sign-up) and forgets the previous identity. */
export function setToken(token: string): void {
  state.token = token
  state.me = null
  state.reason = null
  try {
    localStorage.setItem(TOKEN_KEY, token)
  } catch {
    // storage unavailable (private mode): the session lasts for this page only
  }
}

export function setMe(me: Me | null): void {
  state.me = me
}

/** Forgets the token and identity; `reason` is shown on the sign-in page. */
export function clearSession(reason: string | null = null): void {
  state.token = null
  state.me = null
  state.reason = reason
  try {
    localStorage.removeItem(TOKEN_KEY)
  } catch {
    // nothing stored
  }
}

export function isAdmin(): boolean {
  return state.me?.role === 'admin'
}
