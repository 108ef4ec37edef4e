/// Embedded assets: the binary serves everything the pages load (no CDN, no network).
enum DashboardAssets {}

extension DashboardAssets {
    static let styleCSS = #"""
    :root {
      --bg: #f6f8fa; --panel: #ffffff; --fg: #1f2328; --muted: #57606a; --border: #d0d7de;
      --accent: #0969da; --accent-fg: #ffffff; --focus: #0969da; --row-hover: #eef2f6;
      --h-healthy: #1a7f37; --h-degraded: #9a6700; --h-catching_up: #8250df; --h-down: #cf222e; --h-stale: #6e7781; --h-unknown: #8c959f;
      --cell-healthy: #2da44e; --cell-degraded: #d4a72c; --cell-catching_up: #8250df; --cell-down: #cf222e; --cell-stale: #8c959f;
      --chart-grid: rgba(31, 35, 40, 0.10); --chart-axis: #57606a; --tip-bg: #ffffff; --shadow: 0 4px 16px rgba(0,0,0,.12);
      --error-bg: #ffebe9; --error-fg: #82071e;
    }
    :root[data-theme="dark"] {
      --bg: #0d1117; --panel: #161b22; --fg: #e6edf3; --muted: #9ea7b3; --border: #30363d;
      --accent: #4493f8; --accent-fg: #0d1117; --focus: #79c0ff; --row-hover: #1f2630;
      --h-healthy: #3fb950; --h-degraded: #d29922; --h-catching_up: #bc8cff; --h-down: #ff7b72; --h-stale: #9ea7b3; --h-unknown: #7d8590;
      --cell-healthy: #2ea043; --cell-degraded: #d29922; --cell-catching_up: #a371f7; --cell-down: #f85149; --cell-stale: #6e7681;
      --chart-grid: rgba(230, 237, 243, 0.10); --chart-axis: #9ea7b3; --tip-bg: #1c2128; --shadow: 0 4px 16px rgba(0,0,0,.5);
      --error-bg: #3d1418; --error-fg: #ffa198;
    }
    @media (prefers-color-scheme: dark) {
      :root:not([data-theme="light"]) {
        --bg: #0d1117; --panel: #161b22; --fg: #e6edf3; --muted: #9ea7b3; --border: #30363d;
        --accent: #4493f8; --accent-fg: #0d1117; --focus: #79c0ff; --row-hover: #1f2630;
        --h-healthy: #3fb950; --h-degraded: #d29922; --h-catching_up: #bc8cff; --h-down: #ff7b72; --h-stale: #9ea7b3; --h-unknown: #7d8590;
        --cell-healthy: #2ea043; --cell-degraded: #d29922; --cell-catching_up: #a371f7; --cell-down: #f85149; --cell-stale: #6e7681;
        --chart-grid: rgba(230, 237, 243, 0.10); --chart-axis: #9ea7b3; --tip-bg: #1c2128; --shadow: 0 4px 16px rgba(0,0,0,.5);
        --error-bg: #3d1418; --error-fg: #ffa198;
      }
    }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    html { font-size: 15px; }
    @media (min-width: 2200px) { html { font-size: 20px; } }
    @media (min-width: 3200px) { html { font-size: 26px; } }
    body { margin: 0; background: var(--bg); color: var(--fg); font: 1rem/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    a { color: var(--accent); }
    h1 { font-size: 1.5rem; margin: .2rem 0 .6rem; overflow-wrap: anywhere; }
    h2 { font-size: 1.1rem; margin: 1.2rem 0 .5rem; }
    h3 { font-size: .95rem; margin: .8rem 0 .4rem; color: var(--muted); }
    code, pre, textarea, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
    :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
    .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
    .skip { position: absolute; left: -999px; top: 0; background: var(--panel); padding: .4rem .8rem; z-index: 10; }
    .skip:focus { left: .5rem; }
    .hint { color: var(--muted); font-size: .85rem; margin: 0; }
    button, select, input, textarea { font: inherit; color: var(--fg); background: var(--panel); border: 1px solid var(--border); border-radius: 6px; }
    button, select { padding: .25rem .6rem; cursor: pointer; }
    input, textarea { padding: .3rem .5rem; }
    button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); font-weight: 600; }
    button.ghost { background: transparent; }
    button:disabled { opacity: .5; cursor: default; }
    header.top { display: flex; align-items: center; gap: 1.2rem; flex-wrap: wrap; padding: .5rem 1.2rem; background: var(--panel); border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 5; }
    .brand { font-weight: 700; font-size: 1.1rem; color: var(--fg); text-decoration: none; }
    header nav { display: flex; gap: .2rem; }
    header nav a { padding: .3rem .7rem; border-radius: 6px; color: var(--fg); text-decoration: none; }
    header nav a:hover { background: var(--row-hover); }
    header nav a[aria-current="page"] { background: var(--row-hover); font-weight: 600; box-shadow: inset 0 -2px 0 var(--accent); }
    .controls { margin-left: auto; display: flex; align-items: center; gap: .8rem; font-size: .9rem; }
    .updated { color: var(--muted); font-size: .85rem; }
    .updated.failed { color: var(--h-down); }
    main { padding: 1rem 1.2rem 3rem; max-width: 2400px; margin: 0 auto; }
    main:focus { outline: none; }
    .panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: .8rem 1rem; margin-top: 1rem; }
    .panel-head { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
    .panel-head h2 { margin: 0 0 .5rem; }
    .notice { background: var(--panel); border: 1px solid var(--border); border-left: 4px solid var(--h-degraded); padding: .6rem .8rem; border-radius: 6px; }
    .error { background: var(--error-bg); color: var(--error-fg); border: 1px solid var(--h-down); border-radius: 6px; padding: .6rem .8rem; margin: .6rem 0; }
    .error pre { margin: .2rem 0 0; white-space: pre-wrap; overflow-wrap: anywhere; }
    .error .etype { font-weight: 700; }
    .empty { color: var(--muted); padding: 1.2rem; text-align: center; }
    .summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .8rem; }
    .card { display: block; text-align: left; background: var(--panel); border: 1px solid var(--border); border-left: 6px solid var(--h-unknown); border-radius: 8px; padding: .6rem .9rem; }
    .card .n { font-size: 2rem; font-weight: 700; line-height: 1.1; font-variant-numeric: tabular-nums; }
    .card .l { color: var(--muted); font-size: .85rem; text-transform: capitalize; }
    .card[aria-pressed="true"]:not([data-health="total"]) { box-shadow: inset 0 0 0 2px var(--accent); }
    .card[data-health="healthy"] { border-left-color: var(--cell-healthy); }
    .card[data-health="degraded"] { border-left-color: var(--cell-degraded); }
    .card[data-health="down"] { border-left-color: var(--cell-down); }
    .card[data-health="stale"] { border-left-color: var(--cell-stale); }
    .card[data-health="catching_up"] { border-left-color: var(--cell-catching_up); }
    .card[data-health="down"] .n { color: var(--h-down); }
    .card[data-health="degraded"] .n { color: var(--h-degraded); }
    .heatmap { position: relative; margin-top: .3rem; }
    .key { list-style: none; display: flex; gap: .9rem; margin: 0 0 0 auto; padding: 0; font-size: .85rem; color: var(--muted); }
    .key li::before { content: ""; display: inline-block; width: .8em; height: .8em; margin-right: .35em; border-radius: 2px; vertical-align: -.05em; background: var(--cell-healthy); }
    .key li[data-health="degraded"]::before { background: var(--cell-degraded); }
    .key li[data-health="down"]::before { background: var(--cell-down); }
    .key li[data-health="stale"]::before { background: var(--cell-stale); }
    .key li[data-health="catching_up"]::before { background: var(--cell-catching_up); }
    .heatmap canvas { display: block; width: 100%; border-radius: 4px; }
    .tip { position: absolute; z-index: 8; pointer-events: none; background: var(--tip-bg); color: var(--fg); border: 1px solid var(--border); border-radius: 6px; box-shadow: var(--shadow); padding: .45rem .6rem; font-size: .85rem; min-width: 12rem; max-width: 26rem; }
    .tip .t-name { font-weight: 700; overflow-wrap: anywhere; }
    .tip table { border-collapse: collapse; margin-top: .2rem; }
    .tip td { padding: 0 .6rem 0 0; white-space: nowrap; border: 0; }
    .tip td:first-child { color: var(--muted); }
    .filters { display: flex; flex-wrap: wrap; gap: .6rem 1.2rem; align-items: center; margin-bottom: .6rem; font-size: .9rem; }
    .filters label { display: flex; gap: .4rem; align-items: center; }
    .filters input[type="search"] { width: 16rem; }
    .health-filter { border: 0; margin: 0; padding: 0; display: flex; gap: .3rem; align-items: center; }
    .health-filter legend { float: left; margin-right: .4rem; padding: 0; }
    .chip { border-radius: 999px; padding: .15rem .7rem; font-size: .85rem; }
    .chip[aria-pressed="true"] { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
    .table-wrap { overflow-x: auto; }
    table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
    th, td { padding: .35rem .6rem; border-bottom: 1px solid var(--border); text-align: left; white-space: nowrap; }
    th { font-size: .8rem; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .02em; }
    th button { all: unset; cursor: pointer; }
    th button:focus-visible { outline: 3px solid var(--focus); }
    th[aria-sort="ascending"] button::after { content: " ▲"; }
    th[aria-sort="descending"] button::after { content: " ▼"; }
    td.num, th.num { text-align: right; }
    tbody tr:hover { background: var(--row-hover); }
    tbody tr:focus-visible { outline: 3px solid var(--focus); outline-offset: -3px; }
    td.name { font-weight: 600; }
    td.name a { display: inline-block; max-width: 18rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
    .badge { display: inline-block; border-radius: 999px; padding: .05rem .55rem; font-size: .8rem; font-weight: 600; border: 1px solid currentColor; text-transform: capitalize; }
    .badge[data-health="healthy"], .h-healthy { color: var(--h-healthy); }
    .badge[data-health="degraded"], .h-degraded { color: var(--h-degraded); }
    .badge[data-health="down"], .h-down { color: var(--h-down); }
    .badge[data-health="stale"], .h-stale { color: var(--h-stale); }
    .badge[data-health="catching_up"], .h-catching_up { color: var(--h-catching_up); }
    .badge[data-state="firing"] { color: var(--h-down); }
    .badge[data-state="pending"] { color: var(--h-degraded); }
    .meter { display: inline-flex; align-items: center; gap: .4rem; justify-content: flex-end; }
    .meter .bar { width: 3rem; height: .45rem; background: var(--row-hover); border-radius: 3px; overflow: hidden; }
    .meter .fill { display: block; height: 100%; background: var(--cell-healthy); }
    .meter .fill.warn { background: var(--cell-degraded); }
    .meter .fill.crit { background: var(--cell-down); }
    .pods span + span::before { content: " / "; color: var(--muted); }
    .muted { color: var(--muted); }
    .pager { display: flex; gap: .6rem; align-items: center; justify-content: flex-end; margin-top: .6rem; font-size: .9rem; }
    .crumbs { font-size: .9rem; color: var(--muted); }
    .cluster-head { display: flex; align-items: center; gap: .8rem; flex-wrap: wrap; }
    .cluster-head .badge { font-size: 1rem; }
    .facts { display: flex; flex-wrap: wrap; gap: .3rem 1.6rem; margin: .4rem 0; font-size: .9rem; }
    .facts div { display: flex; gap: .4rem; }
    .facts dt { color: var(--muted); }
    .facts dd { margin: 0; }
    .problem { display: inline-block; margin-left: .4rem; font-size: .8rem; font-weight: 600; }
    .label-chip { display: inline-block; background: var(--row-hover); border-radius: 4px; padding: 0 .4rem; margin: 0 .2rem .2rem 0; font-size: .82rem; }
    .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: .7rem; margin: .8rem 0; }
    .tile { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: .5rem .8rem; }
    .tile .n { font-size: 1.5rem; font-weight: 700; font-variant-numeric: tabular-nums; }
    .tile .l { color: var(--muted); font-size: .8rem; }
    .toolbar { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; margin: .6rem 0; }
    .range { display: inline-flex; gap: .4rem; align-items: center; font-size: .9rem; }
    .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 34rem), 1fr)); gap: .8rem; }
    .chart-panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: .5rem .7rem .4rem; min-width: 0; }
    .chart-panel h3 { margin: 0 0 .3rem; color: var(--fg); font-size: .9rem; }
    .two { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 30rem), 1fr)); gap: 1rem; }
    .explore-form textarea { width: 100%; min-height: 3.2rem; resize: vertical; }
    .explore-controls { display: flex; flex-wrap: wrap; gap: .6rem 1.2rem; align-items: center; margin: .5rem 0; font-size: .9rem; }
    .explore-controls label { display: flex; gap: .4rem; align-items: center; }
    .tabs { display: flex; gap: .2rem; border-bottom: 1px solid var(--border); margin-top: .6rem; }
    .tabs button { border: 0; border-radius: 6px 6px 0 0; background: transparent; padding: .35rem 1rem; }
    .tabs button[aria-selected="true"] { background: var(--panel); border: 1px solid var(--border); border-bottom-color: var(--panel); margin-bottom: -1px; font-weight: 600; }
    .status { color: var(--muted); font-size: .85rem; margin: .4rem 0; }
    .labels { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; white-space: normal; overflow-wrap: anywhere; }
    .alert-group { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: .6rem 1rem; margin: .8rem 0; }
    .alert-group h2 { margin: 0 0 .3rem; }
    .alert-group table { table-layout: fixed; }
    .alert-group thead th:nth-child(1) { width: 20%; }
    .alert-group thead th:nth-child(2) { width: 7rem; }
    .alert-group thead th:nth-child(3) { width: 8rem; }
    .alert-group thead th:nth-child(4) { width: 6rem; }
    .alert-group thead th:nth-child(5) { width: 32%; }
    tr.group-row th { padding-top: .8rem; border-bottom: 0; text-transform: none; letter-spacing: 0; }
    tr.group-row h3 { margin: 0; }
    .alert-group td { overflow: hidden; text-overflow: ellipsis; }
    .alert-group td.chips { white-space: normal; }
    /* chart module */
    .fschart { position: relative; }
    .fschart-plot { position: relative; height: var(--chart-height, 220px); outline: none; }
    .fschart-plot:focus-visible { outline: 3px solid var(--focus); }
    .fschart canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
    .fschart-over { cursor: crosshair; }
    .fschart-tip { position: absolute; pointer-events: none; z-index: 6; background: var(--tip-bg); border: 1px solid var(--border); border-radius: 6px; box-shadow: var(--shadow); padding: .35rem .5rem; font-size: .8rem; max-width: 34rem; }
    .fschart-tip .time { color: var(--muted); margin-bottom: .2rem; }
    .fschart-tip .row { display: flex; gap: .5rem; align-items: baseline; }
    .fschart-tip .row .lab { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 26rem; }
    .fschart-tip .row .val { margin-left: auto; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
    .sw { display: inline-block; width: .75rem; height: .2rem; border-radius: 2px; flex: none; transform: translateY(-.2rem); }
    .fschart-legend { display: flex; flex-wrap: wrap; gap: .1rem .3rem; margin-top: .3rem; max-height: 6.5rem; overflow-y: auto; font-size: .8rem; }
    .fschart-legend button { border: 0; background: transparent; padding: .05rem .3rem; display: inline-flex; gap: .35rem; align-items: center; max-width: 100%; }
    .fschart-legend button span.lab { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .fschart-legend button[aria-pressed="false"] { opacity: .45; text-decoration: line-through; }
    .fschart-reset { position: absolute; top: .2rem; right: .2rem; z-index: 4; font-size: .8rem; padding: .1rem .5rem; }
    .fschart-empty { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: .9rem; pointer-events: none; }
    .kiosk header nav, .kiosk .controls label, .kiosk #theme-toggle, .kiosk .skip, .kiosk .filters, .kiosk .pager, .kiosk .panel-head .hint { display: none; }
    .kiosk .brand { font-size: 1.4rem; }
    .kiosk .updated { font-size: 1rem; }
    @media (max-width: 700px) { .controls { margin-left: 0; } .filters input[type="search"] { width: 100%; } }
    """#
}
