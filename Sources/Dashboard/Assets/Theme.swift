extension DashboardAssets {
    /// Runs before first paint so a remembered theme does not flash the other one.
    static let themeJS = #"""
    (function () {
      try {
        var t = localStorage.getItem('fleetscope.theme');
        if (t === 'dark' || t === 'light') document.documentElement.setAttribute('data-theme', t);
      } catch (e) { /* storage disabled: follow prefers-color-scheme */ }
    })();
    """#
}

extension DashboardAssets {
    /// A tiny heat map as the tab icon, so browsers do not ask for /favicon.ico.
    static let faviconSVG = #"""
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#161b22"/><rect x="2" y="2" width="5" height="5" fill="#2ea043"/><rect x="9" y="2" width="5" height="5" fill="#2ea043"/><rect x="2" y="9" width="5" height="5" fill="#d29922"/><rect x="9" y="9" width="5" height="5" fill="#f85149"/></svg>
    """#
}
