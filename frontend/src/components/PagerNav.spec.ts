import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import PagerNav from './PagerNav.vue'

describe('PagerNav', () => {
  it('shows the total and page numbers, and stops at the last page', async () => {
    const w = mount(PagerNav, { props: { offset: 25, limit: 25, count: 25, total: 60 } })
    expect(w.get('[data-testid=pager-info]').text().replace(/\s+/g, ' ')).toBe('rows 26–50 of 60 · page 2 of 3')
    const [prev, next] = w.findAll('button')
    expect(next!.attributes('disabled')).toBeUndefined()
    await next!.trigger('click')
    expect(w.emitted('update:offset')![0]).toEqual([50])
    await prev!.trigger('click')
    expect(w.emitted('update:offset')![1]).toEqual([0])
    await w.setProps({ offset: 50, count: 10 })
    expect(w.findAll('button')[1]!.attributes('disabled')).toBeDefined()
  })
  it('without a total offers next while the page is full', () => {
    const w = mount(PagerNav, { props: { offset: 0, limit: 25, count: 25 } })
    expect(w.findAll('button')[1]!.attributes('disabled')).toBeUndefined()
    expect(w.text()).not.toContain('page')
  })
})
