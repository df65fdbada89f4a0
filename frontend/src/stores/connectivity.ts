// Whether the server answers: the API client reports every network failure
// and every answer here. While it is unreachable, GET /health is probed
// (1 s, doubling to 10 s); when it answers again every mounted query
// refetches, so the banner clears itself and the pages catch up.
import { reactive } from 'vue'

export const connectivity = reactive({ reachable: true, since: 0 })

let timer: ReturnType<typeof setTimeout> | undefined
let delay = 1000
let onBack: () => void = () => {}
let probe: () => Promise<boolean> = async () => {
  try {
    return (await fetch('/health', { cache: 'no-store' })).ok
  } catch {
    return false
  }
}

/** Sets what runs when the server is back (main.ts: refetch everything) and, for tests, the probe. */
export function configureConnectivity(o: { onBack?: () => void; probe?: () => Promise<boolean> }): void {
  if (o.onBack) onBack = o.onBack
  if (o.probe) probe = o.probe
}

function schedule(): void {
  if (timer) return
  timer = setTimeout(async () => {
    timer = undefined
    if (connectivity.reachable) return
    if (await probe()) {
      reportReachable(true)
      return
    }
    delay = Math.min(delay * 2, 10_000)
    schedule()
  }, delay)
}

/** Called by the client: false after a network error, true after any HTTP answer. */
export function reportReachable(ok: boolean): void {
  if (ok === connectivity.reachable) return
  connectivity.reachable = ok
  if (ok) {
    if (timer) clearTimeout(timer)
    timer = undefined
    delay = 1000
    onBack()
    return
  }
  connectivity.since = Date.now()
  schedule()
}
