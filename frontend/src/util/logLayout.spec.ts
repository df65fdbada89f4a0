import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import type { LogItem } from '@/composables/useRunLogs'
import LogView from '@/components/LogView.vue'
import { ROW_PX, findMatches, logText, rowAt, rowTops, visibleRange } from './logLayout'

function lines(n: number, text = (i: number) => `line ${i}`): LogItem[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'line', key: `0:${i + 1}`, seq: i + 1, stream: 'stdout',
    line: text(i + 1), logged_at: '2026-11-27T03:04:05.123Z' }) as LogItem)
}

describe('log layout', () => {
  it('stacks fixed rows, or as many screen lines as a wrapped line needs', () => {
    const items = lines(3, (i) => 'x'.repeat(i * 30))
    expect(Array.from(rowTops(items, 0))).toEqual([0, ROW_PX, 2 * ROW_PX, 3 * ROW_PX])
    expect(Array.from(rowTops(items, 40))).toEqual([0, ROW_PX, 3 * ROW_PX, 6 * ROW_PX])
  })
  it('finds the rows of a viewport by binary search', () => {
    const tops = rowTops(lines(100_000), 0)
    expect(rowAt(tops, 0)).toBe(0)
    expect(rowAt(tops, 50 * ROW_PX + 1)).toBe(50)
    const [a, b] = visibleRange(tops, 50_000 * ROW_PX, 400, 10)
    expect(a).toBe(49_990)
    expect(b).toBe(50_031)
  })
  it('searches case-insensitively and renders plain text', () => {
    const items = lines(5, (i) => (i === 2 ? 'Needle here' : 'hay'))
    expect(findMatches(items, 'needle')).toEqual([1])
    expect(findMatches(items, '')).toEqual([])
    expect(logText([{ logged_at: 't', stream: 'stderr', line: 'a' }])).toBe('t stderr a\n')
  })
  it('LogView keeps the DOM small for a long log and counts search matches', async () => {
    const w = mount(LogView, { props: { items: lines(100_000, (i) => (i % 25_000 === 0 ? `marker ${i}` : `l ${i}`)), live: false } })
    expect(w.findAll('.logs__line').length).toBeLessThan(200)
    expect(w.get('[data-testid=log-count]').text()).toContain('100000 lines')
    await w.get('[data-testid=log-search]').setValue('MARKER')
    expect(w.get('[data-testid=log-matches]').text()).toBe('1 of 4')
    await w.get('[data-testid=log-next]').trigger('click')
    expect(w.get('[data-testid=log-matches]').text()).toBe('2 of 4')
  })
})
