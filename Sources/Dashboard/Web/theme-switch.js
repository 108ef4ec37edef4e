// The theme button. theme.js (a classic script in <head>) applies the saved theme before first paint.
import * as FS from './chart.js';
import { $ } from './dom.js';

function effectiveTheme() {
  const t = document.documentElement.getAttribute('data-theme');
  if (t) return t;
  return window.matchMedia && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
export function setupTheme() {
  const b = $('theme-toggle');
  const label = () => { const next = effectiveTheme() === 'dark' ? 'light' : 'dark'; b.textContent = next === 'dark' ? '☾ Dark' : '☀ Light'; b.setAttribute('aria-label', 'Switch to ' + next + ' theme'); };
  b.addEventListener('click', () => {
    const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
    document.documentElement.setAttribute('data-theme', next);
    try { localStorage.setItem('fleetscope.theme', next); } catch (e) { /* ignore */ }
    label(); FS.redrawAll(); document.dispatchEvent(new Event('fs-theme'));
  });
  if (window.matchMedia) matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { label(); FS.redrawAll(); document.dispatchEvent(new Event('fs-theme')); });
  label();
}
