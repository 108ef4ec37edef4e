/// Pages served at `/`. The fleet dashboard proper is being built (issue 5); until then
/// this page points at what already works.
public enum DashboardPages {
    public static let placeholder = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>Fleetscope</title>
    <style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:3rem auto;padding:0 1rem;color:#1d2430}
    code{background:#eef1f5;padding:.1rem .3rem;border-radius:3px}</style></head>
    <body><h1>Fleetscope collector</h1>
    <p>The fleet dashboard is coming. The Prometheus-compatible API is live:</p>
    <ul><li><a href="/api/v1/labels">/api/v1/labels</a></li>
    <li><a href="/api/v1/status/tsdb">/api/v1/status/tsdb</a></li>
    <li><a href="/metrics">/metrics</a></li></ul>
    <p>Point Grafana at this address as a Prometheus data source.</p>
    </body></html>
    """
}
