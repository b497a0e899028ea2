/** The console's style sheet (GET /console/app.css). */
export const CONSOLE_STYLE = `/* Crosswalk identity console: system fonts, no web fonts or images (the CSP allows this origin only). */
:root {
  color-scheme: light;
  --ink: #1d2330;
  --muted: #647084;
  --line: #d9dee7;
  --panel: #ffffff;
  --page: #f3f5f9;
  --accent: #3056d3;
  --same: #17803d;
  --differs: #b42318;
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  color: var(--ink);
  background: var(--page);
}
[hidden] { display: none !important; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: 0.8rem 1.5rem; background: var(--ink); color: #fff; }
header h1 { margin: 0; font-size: 1.15rem; }
header h1 span { font-weight: 400; opacity: 0.75; }
main { max-width: 1180px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
form { display: flex; flex-wrap: wrap; align-items: end; gap: 0.6rem; }
label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.8rem; color: var(--muted); }
header label { color: #cfd6e4; }
input, select, button { font: inherit; padding: 0.35rem 0.55rem; border: 1px solid var(--line); border-radius: 6px; }
input:focus-visible, select:focus-visible, button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
button { background: var(--accent); border-color: var(--accent); color: #fff; cursor: pointer; }
button:disabled { opacity: 0.5; cursor: not-allowed; }
button.secondary { background: transparent; color: inherit; border-color: currentColor; }
#key-set { display: flex; align-items: center; gap: 0.6rem; margin-left: auto; }
#key-form { margin-left: auto; }
.hint, .muted { color: var(--muted); }
#lookup-form { padding: 1rem; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; }
#value { min-width: 18rem; }
#status:empty { display: none; }
#status { margin: 1rem 0; padding: 0.7rem 1rem; border-radius: 8px; background: #e8eefc; }
#status.error { background: #fdecea; color: var(--differs); font-weight: 500; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 1rem; }
.card { margin-top: 1rem; padding: 0.8rem 1rem; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; min-width: 0; }
.card h2 { margin: 0 0 0.6rem; font-size: 1rem; }
.card h3 { margin: 0.4rem 0; font-size: 0.95rem; }
.experiment-id code { font-size: 1.2rem; }
code { font-family: ui-monospace, 'SF Mono', Menlo, Consolas, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-size: 0.8rem; color: var(--muted); font-weight: 600; }
th small { display: block; font-weight: 400; }
tr.looked-up td { background: #f0f4ff; }
#decisions td:first-child code { white-space: nowrap; overflow-wrap: normal; }
td.bucketing { white-space: nowrap; }
.agreement, #agreement { font-weight: 600; }
.scroll { overflow-x: auto; }
.badge { display: inline-block; margin-left: 0.4rem; padding: 0 0.45rem; border-radius: 999px; font-size: 0.75rem; background: #e6e9ef; }
.badge.on { background: #dcf5e5; color: var(--same); }
.badge.primary { background: #fff1c2; color: #7a5300; }
.account { padding: 0.2rem 0 0.6rem; }
.account + .account { border-top: 1px solid var(--line); }
.agreement.same, #agreement.same { color: var(--same); }
.agreement.differs, #agreement.differs { color: var(--differs); font-weight: 700; }
tr.differs td { background: #fdecea; }
details summary { cursor: pointer; color: var(--accent); font-size: 0.8rem; }
.reasons { margin: 0.3rem 0; padding-left: 1.2rem; font-size: 0.8rem; color: var(--muted); }
#audiences { margin: 0; padding-left: 1.2rem; }
#graph { width: 100%; max-width: 640px; height: auto; }
#graph .edge { fill: none; stroke: #9aa6bb; stroke-width: 1.5; }
#graph rect { fill: #eef1f6; stroke: #9aa6bb; }
#graph text { font: 11px ui-monospace, Menlo, Consolas, monospace; fill: var(--ink); }
#graph .profile rect { fill: #e8eefc; stroke: var(--accent); }
#graph .looked-up rect { stroke: var(--accent); stroke-width: 2; }
#graph .primary rect { fill: #fff1c2; stroke: #c99a00; }
`;
