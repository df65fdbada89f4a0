// The failure reason of each failed or dead run in a list, from its last
// attempt (GET /runs/{id}/attempts, once per run: a final run never changes).
// The runs API carries no exit code, so the tables ask for it here.
import { shallowRef, watch, type Ref } from 'vue'
import { api, type Run } from '@/api'
import { failureText } from '@/util/failure'

const known = new Map<number, string>()
const asked = new Set<number>()

/** A reactive map run_id → reason text for the failed/dead runs of `runs`. */
export function useFailureReasons(runs: Ref<Run[]>) {
  const reasons = shallowRef(new Map<number, string>())

  function publish(): void {
    const m = new Map<number, string>()
    for (const r of runs.value) {
      const t = known.get(r.run_id)
      if (t !== undefined) m.set(r.run_id, t)
    }
    reasons.value = m
  }

  watch(runs, (list) => {
    publish()
    for (const r of list) {
      if ((r.status !== 'failed' && r.status !== 'dead') || asked.has(r.run_id)) continue
      asked.add(r.run_id)
      api.runAttempts(r.run_id).then((atts) => {
        known.set(r.run_id, failureText(atts.at(-1)) || r.status)
        publish()
      }).catch(() => asked.delete(r.run_id))
    }
  }, { immediate: true })
  return reasons
}
