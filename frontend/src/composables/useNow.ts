// One shared clock for relative times and elapsed timers: a ref holding
// Date.now(), ticking every second while any component uses it.
import { onScopeDispose, ref, type Ref } from 'vue'

const now = ref(Date.now())
let users = 0
let timer: ReturnType<typeof setInterval> | undefined

/** The current time in ms, updated every second while the calling scope lives. */
export function useNow(): Ref<number> {
  if (users++ === 0) {
    now.value = Date.now()
    timer = setInterval(() => {
      now.value = Date.now()
    }, 1000)
  }
  onScopeDispose(() => {
    if (--users === 0 && timer) {
      clearInterval(timer)
      timer = undefined
    }
  })
  return now
}
