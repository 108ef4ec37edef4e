// Auto-refresh: the interval from ?refresh= or the last choice, paused while the tab is hidden.
import { $, el } from './dom.js';
import { getParams, setParams } from './url.js';

export const Refresh = {
  fn: null, timer: null, running: false,
  seconds() {
    const u = getParams().get('refresh');
    if (u !== null && /^\d+$/.test(u)) return parseInt(u, 10);
    try { const v = localStorage.getItem('fleetscope.refresh'); if (v !== null && /^\d+$/.test(v)) return parseInt(v, 10); } catch (e) { /* ignore */ }
    return 30;
  },
  setup(fn) {
    this.fn = fn;
    const sel = $('refresh');
    const s = String(this.seconds());
    if (![...sel.options].some(o => o.value === s)) sel.append(el('option', { value: s, text: s + ' s' }));
    sel.value = s;
    sel.addEventListener('change', () => {
      try { localStorage.setItem('fleetscope.refresh', sel.value); } catch (e) { /* ignore */ }
      if (getParams().has('refresh')) setParams({ refresh: sel.value });
      this.schedule();
    });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) this.schedule(); });
    this.now();
  },
  schedule() {
    clearTimeout(this.timer);
    // A hand-edited ?refresh=1 must not hammer the collector from every open tab.
    const v = parseInt($('refresh').value, 10) || 0;
    const s = v > 0 ? Math.max(5, v) : 0;
    if (s > 0) this.timer = setTimeout(() => { if (document.hidden) return; this.now(); }, s * 1000);
  },
  async now() {
    if (!this.fn) return;
    // A change (range, filter) while a refresh is in flight must not be lost: run once more after it.
    if (this.running) { this.again = true; return; }
    this.running = true;
    const u = $('updated');
    try {
      await this.fn();
      // Time from navigation to the first complete render, for benchmarks and tests to read.
      if (!document.body.dataset.firstRenderMs) document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
      u.textContent = 'Updated ' + new Date().toLocaleTimeString();
      u.classList.remove('failed');
    } catch (e) {
      u.textContent = 'Update failed: ' + e.message;
      u.classList.add('failed');
      console.error(e);
    } finally {
      this.running = false;
      if (this.again) { this.again = false; setTimeout(() => this.now(), 0); } else this.schedule();
    }
  },
};
