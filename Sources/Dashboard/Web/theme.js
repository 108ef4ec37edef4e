// A classic script in <head>, not a module: it runs before first paint, so a remembered theme
// does not flash the other one.
(function () {
  try {
    var t = localStorage.getItem('fleetscope.theme');
    if (t === 'dark' || t === 'light') document.documentElement.setAttribute('data-theme', t);
  } catch (e) { /* storage disabled: follow prefers-color-scheme */ }
})();
