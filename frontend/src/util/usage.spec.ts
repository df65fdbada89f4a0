import { describe, expect, it } from 'vitest'
import { formatBytes, formatCpu, reasonLabel, resourceItems } from './usage'

describe('usage formatting', () => {
  it('labels every reason the API knows, and passes others through', () => {
    expect(reasonLabel('oom_killed')).toBe('Out of memory')
    expect(reasonLabel('lease_expired')).toBe('Lease expired')
    for (const r of ['completed', 'exit_code', 'signal', 'timeout', 'released', 'cancelled', 'setup_failed', 'disk_limit'])
      expect(reasonLabel(r)).not.toBe(r)
    expect(reasonLabel('something_new')).toBe('something_new')
  })

  it('writes bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1024)).toBe('1.0 KiB')
    expect(formatBytes(222717542)).toBe('212.4 MiB')
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB')
    expect(formatBytes(-1)).toBe('—')
  })

  it('writes CPU time as user and system seconds', () => {
    expect(formatCpu(1230, 100)).toBe('1.23 s user, 0.10 s sys')
    expect(formatCpu(1230)).toBe('1.23 s user')
    expect(formatCpu(undefined, 5)).toBe('0.01 s sys')
    expect(formatCpu()).toBe('')
  })

  it('lists resources in the API order', () => {
    expect(resourceItems(undefined)).toEqual([])
    expect(resourceItems({ open_files: 256, memory_mb: 256, cpus: 0.5 }).map((i) => i.label))
      .toEqual(['Memory', 'CPUs', 'Open files'])
    expect(resourceItems({ disk_mb: 100, pids: 64 })).toEqual([
      { label: 'Processes', value: '64' }, { label: 'Disk', value: '100 MiB' }])
  })
})
