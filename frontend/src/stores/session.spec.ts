// The session store: which tokens the UI minted (and revokes on sign-out).
import { beforeEach, describe, expect, it } from 'vitest'
import { clearSession, MINTED_KEY, session, setToken, TOKEN_KEY } from './session'

describe('session', () => {
  beforeEach(() => {
    localStorage.clear()
    clearSession(null)
  })

  it('marks a token minted by sign-in or sign-up', () => {
    setToken('mtk_a', true)
    expect(session.minted).toBe(true)
    expect(localStorage.getItem(MINTED_KEY)).toBe('1')
    expect(localStorage.getItem(TOKEN_KEY)).toBe('mtk_a')
  })

  it('does not mark a pasted token, and replaces an earlier mark', () => {
    setToken('mtk_a', true)
    setToken('mtk_b')
    expect(session.minted).toBe(false)
    expect(localStorage.getItem(MINTED_KEY)).toBeNull()
  })

  it('forgets the mark on sign-out', () => {
    setToken('mtk_a', true)
    clearSession('expired')
    expect(session.minted).toBe(false)
    expect(localStorage.getItem(MINTED_KEY)).toBeNull()
    expect(session.reason).toBe('expired')
  })
})
