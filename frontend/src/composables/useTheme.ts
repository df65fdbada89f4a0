// Light/dark theme: the choice is kept in localStorage['minitower_theme'];
// without one the system preference decides. Applied as data-theme on <html>.
import { ref, watch } from 'vue'

export type Theme = 'light' | 'dark'
export const THEME_KEY = 'minitower_theme'

function initial(): Theme {
  try {
    const saved = localStorage.getItem(THEME_KEY)
    if (saved === 'light' || saved === 'dark') return saved
  } catch {
    // storage unavailable
  }
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

const theme = ref<Theme>(initial())

function apply(t: Theme): void {
  document.documentElement.dataset.theme = t
  document.documentElement.style.colorScheme = t
}

apply(theme.value)
watch(theme, (t) => {
  apply(t)
  try {
    localStorage.setItem(THEME_KEY, t)
  } catch {
    // not persisted
  }
})

export function useTheme() {
  return {
    theme,
    toggle: () => {
      theme.value = theme.value === 'dark' ? 'light' : 'dark'
    },
  }
}
