import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import VersionDetails from './VersionDetails.vue'
import type { Version } from '@/api'

const base: Version = {
  version_id: 1, version_no: 3, entrypoint: 'main.py', artifact_sha256: 'ab'.repeat(32),
  created_at: '2026-11-27T03:04:05.000Z',
}

describe('VersionDetails', () => {
  it('shows no sandbox or resources for a version without them', () => {
    const w = mount(VersionDetails, { props: { version: base } })
    expect(w.find('[data-testid=sandbox]').exists()).toBe(false)
    expect(w.find('[data-testid=resources]').exists()).toBe(false)
    expect(w.text()).not.toContain('Sandbox')
  })

  it('shows the network switch, writable paths and resources', () => {
    const w = mount(VersionDetails, {
      props: {
        version: {
          ...base,
          sandbox: { network: false, writable_paths: ['/srv/cache', '/var/tmp/x'] },
          resources: { memory_mb: 256, cpus: 0.5, pids: 64, disk_mb: 100, open_files: 256 },
        },
      },
    })
    const sb = w.find('[data-testid=sandbox]')
    expect(sb.text()).toContain('Network off')
    expect(sb.findAll('li').map((l) => l.text())).toEqual(['/srv/cache', '/var/tmp/x'])
    expect(sb.find('ul').attributes('aria-label')).toBe('Writable paths')
    const rs = w.find('[data-testid=resources]').findAll('li').map((l) => l.text())
    expect(rs).toEqual(['Memory 256 MiB', 'CPUs 0.5', 'Processes 64', 'Disk 100 MiB', 'Open files 256'])
  })

  it('shows network on without writable paths', () => {
    const w = mount(VersionDetails, { props: { version: { ...base, sandbox: { network: true } } } })
    expect(w.find('[data-testid=sandbox]').text()).toBe('Network on')
    expect(w.find('[data-testid=resources]').exists()).toBe(false)
  })
})
