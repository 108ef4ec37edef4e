// Entry module: the shell names the page in <body data-page>, and this starts its code.
// Everything that comes from the API reaches the DOM through textContent or attribute setters,
// never through HTML parsing: cluster names and labels are untrusted.
import { alertsPage } from './alerts.js';
import { clusterPage } from './cluster.js';
import { explorePage } from './explore.js';
import { overviewPage } from './overview.js';
import { setupTheme } from './theme-switch.js';
import { KIOSK } from './url.js';

function start() {
  if (KIOSK) document.documentElement.classList.add('kiosk');
  setupTheme();
  // Signed in through single sign-on: the collector sets this marker (the session cookie itself is HttpOnly).
  if (document.cookie.split('; ').includes('fs_signed_in=1')) document.getElementById('signout-form').hidden = false;
  const page = document.body.dataset.page;
  // The admin page's code is imported on that page only, so that viewers never fetch it.
  const adminPage = () => import('./admin.js').then((m) => m.adminPage());
  const pages = { overview: overviewPage, cluster: clusterPage, alerts: alertsPage, explore: explorePage, admin: adminPage };
  if (pages[page]) pages[page]();
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
