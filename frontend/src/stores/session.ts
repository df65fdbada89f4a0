// Session state, the only global store: the team token (kept in
// localStorage['minitower_token']) and the identity it belongs to (GET /me).
// Signing out clears both; a 401 from any authenticated call signs out.
import { reactive, readonly } from 'vue'
import type { Me } from '@/api/client'

export const TOKEN_KEY = 'minitower_token'
/** Set when the token was minted by this UI (password sign-in or sign-up):
 * signing out revokes it on the server. A pasted token is only forgotten. */
export const MINTED_KEY = 'minitower_token_minted'

function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY) || null
  } catch {
    return null
  }
}

function storedMinted(): boolean {
  try {
    return localStorage.getItem(MINTED_KEY) === '1'
  } catch {
    return false
  }
}

const state = reactive({
  token: storedToken() as string | null,
  me: null as Me | null,
  /** Why the last sign-out happened ('expired' after a 401), shown on the sign-in page. */
  reason: null as string | null,
  minted: storedMinted(),
})

export const session = readonly(state)

/** Stores a new token (after sign-in or sign-up) and forgets the previous
 * identity; `minted` when the sign-in created the token (see MINTED_KEY). */
export function setToken(token: string, minted = false): void {
  state.token = token
  state.me = null
  state.reason = null
  state.minted = minted
  try {
    localStorage.setItem(TOKEN_KEY, token)
    if (minted) localStorage.setItem(MINTED_KEY, '1')
    else localStorage.removeItem(MINTED_KEY)
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
  state.minted = false
  try {
    localStorage.removeItem(TOKEN_KEY)
    localStorage.removeItem(MINTED_KEY)
  } catch {
    // nothing stored
  }
}

export function isAdmin(): boolean {
  return state.me?.role === 'admin'
}
