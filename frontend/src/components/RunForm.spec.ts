import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import RunForm from './RunForm.vue'
import type { Version } from '@/api/client'

const v2: Version = {
  version_id: 12,
  version_no: 2,
  entrypoint: './main.py',
  artifact_sha256: 'a'.repeat(64),
  created_at: '2026-11-27T03:04:05.123Z',
  params_schema: {
    type: 'object',
    properties: {
      count: { type: 'integer', default: 2 },
      name: { type: 'string', default: 'World', description: 'Who to greet' },
      ratio: { type: 'number' },
      verbose: { type: 'boolean' },
    },
  },
}
const v1: Version = { version_id: 11, version_no: 1, entrypoint: 'run.sh', artifact_sha256: 'b'.repeat(64), created_at: '2026-11-27T03:04:05.123Z' }

describe('RunForm', () => {
  it('generates inputs from the latest schema with defaults pre-filled', () => {
    const w = mount(RunForm, { props: { versions: [v2, v1] } })
    expect((w.get('#param-name').element as HTMLInputElement).value).toBe('World')
    expect((w.get('#param-count').element as HTMLInputElement).value).toBe('2')
    expect((w.get('#param-ratio').element as HTMLInputElement).value).toBe('')
    expect(w.get('#param-verbose').element.tagName).toBe('SELECT')
    expect(w.text()).toContain('Who to greet')
  })

  it('emits the typed input', async () => {
    const w = mount(RunForm, { props: { versions: [v2, v1] } })
    await w.get('#param-ratio').setValue('0.5')
    await w.get('#param-verbose').setValue('true')
    await w.get('form').trigger('submit')
    expect(w.emitted('submit')).toEqual([[{ input: { count: 2, name: 'World', ratio: 0.5, verbose: true } }]])
  })

  it('refuses wrong types client-side and does not submit', async () => {
    const w = mount(RunForm, { props: { versions: [v2] } })
    await w.get('#param-count').setValue('two')
    await w.get('#run-priority').setValue('9999999999')
    await w.get('form').trigger('submit')
    expect(w.emitted('submit')).toBeUndefined()
    expect(w.text()).toContain('count must be an integer')
    expect(w.text()).toContain('priority must be between -2147483648 and 2147483647')
    expect(w.get('#param-count').attributes('aria-invalid')).toBe('true')
  })

  it('sends the advanced fields', async () => {
    const w = mount(RunForm, { props: { versions: [v2, v1] } })
    await w.get('#run-priority').setValue('5')
    await w.get('#run-max-retries').setValue('3')
    await w.get('#run-version').setValue('2')
    await w.get('form').trigger('submit')
    expect(w.emitted('submit')![0][0]).toMatchObject({ version_no: 2, priority: 5, max_retries: 3 })
  })

  it('switches to a JSON input for a version without parameters', async () => {
    const w = mount(RunForm, { props: { versions: [v2, v1] } })
    await w.get('#run-version').setValue('1')
    expect(w.find('#param-name').exists()).toBe(false)
    await w.get('#run-input-json').setValue('{"anything": [1, 2]}')
    await w.get('form').trigger('submit')
    expect(w.emitted('submit')![0][0]).toEqual({ input: { anything: [1, 2] }, version_no: 1 })
  })

  it('shows the server validation error next to the form', () => {
    const w = mount(RunForm, {
      props: { versions: [v2], error: new Error('input does not match schema: $.count has invalid type') },
    })
    expect(w.get('[role=alert]').text()).toBe('input does not match schema: $.count has invalid type')
  })
})
