/**
 * The UI's only asset, served by the server itself at /ui/assets/app.css (no CDN, no build step).
 * Colours meet WCAG AA contrast on their backgrounds; state is never carried by colour alone
 * (badges have text, overdue cells say "overdue", charts use markers and dash patterns).
 */
export const CSS_PATH = "/ui/assets/app.css";

export const APP_CSS = `
:root { --fg: #111827; --muted: #4b5563; --line: #e5e7eb; --bg: #f9fafb; --link: #1d4ed8; --bad: #991b1b; --bad-bg: #fee2e2; --warn-bg: #fef3c7; --warn: #78350f; --ok-bg: #dcfce7; --ok: #14532d; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: 8px; z-index: 10; }
.skip:focus { left: 8px; }
header.top { padding: 12px 24px; background: #111827; color: #f9fafb; display: flex; gap: 20px; align-items: center; flex-wrap: wrap; }
header.top a { color: #f9fafb; }
header.top .brand { font-weight: 700; font-size: 18px; text-decoration: none; }
header.top nav ul { list-style: none; display: flex; gap: 14px; margin: 0; padding: 0; flex-wrap: wrap; }
header.top nav a[aria-current=page] { font-weight: 700; text-decoration-thickness: 3px; }
header.top .who { margin-left: auto; display: flex; gap: 12px; align-items: center; color: #e5e7eb; font-size: 14px; }
header.top form { margin: 0; }
.envs { padding: 8px 24px; background: #fff; border-bottom: 1px solid var(--line); display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.envs a { padding: 2px 10px; border: 1px solid var(--line); border-radius: 12px; text-decoration: none; }
.envs a[aria-current=true] { background: #111827; color: #fff; border-color: #111827; }
main { padding: 16px 24px; max-width: 1280px; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 0 0 10px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; }
section.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin-bottom: 16px; }
.big { font-size: 30px; font-weight: 700; font-variant-numeric: tabular-nums; }
.bad { color: var(--bad); font-weight: 700; }
.banner { padding: 10px 24px; font-weight: 600; }
.banner.page { background: var(--bad-bg); color: #7f1d1d; border-bottom: 2px solid #b91c1c; }
.banner.notify { background: var(--warn-bg); color: var(--warn); border-bottom: 2px solid #d97706; }
.banner.ok { background: var(--ok-bg); color: var(--ok); }
.msg { padding: 10px 14px; border-radius: 6px; margin: 0 0 12px; }
.msg.error { background: var(--bad-bg); color: #7f1d1d; border: 1px solid #b91c1c; }
.msg.done { background: var(--ok-bg); color: var(--ok); border: 1px solid #15803d; }
table { width: 100%; border-collapse: collapse; font-size: 14px; background: #fff; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.p0-open td:first-child { border-left: 4px solid #b91c1c; }
.badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 13px; font-weight: 600; border: 1px solid #9ca3af; background: #f3f4f6; color: #111827; }
.badge.p0 { background: #b91c1c; border-color: #b91c1c; color: #fff; }
.badge.overdue { background: var(--bad-bg); border-color: #b91c1c; color: #7f1d1d; }
form.filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px 14px; align-items: end; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin-bottom: 12px; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 0; padding: 4px 8px 8px; }
legend { font-size: 13px; color: var(--muted); padding: 0 4px; }
label { display: block; font-size: 13px; color: var(--muted); }
fieldset label, label.check { display: inline-flex; gap: 4px; align-items: center; color: var(--fg); margin-right: 8px; font-size: 14px; }
input[type=text], input[type=password], input[type=search], select, textarea { font: inherit; padding: 5px 8px; border: 1px solid #6b7280; border-radius: 5px; width: 100%; background: #fff; color: var(--fg); }
textarea { min-height: 70px; }
button { font: inherit; padding: 6px 14px; border-radius: 5px; border: 1px solid #1e3a8a; background: #1d4ed8; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #1e3a8a; }
header.top button { background: transparent; border-color: #e5e7eb; color: #f9fafb; padding: 3px 10px; }
.pager { display: flex; gap: 16px; align-items: center; margin: 12px 0; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; }
ol.timeline { list-style: none; padding: 0; margin: 0; }
ol.timeline li { border-left: 3px solid var(--line); padding: 4px 0 10px 12px; }
ol.timeline .when { color: var(--muted); font-size: 13px; }
.actions { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 16px; }
.actions form { display: grid; gap: 8px; align-content: start; }
.login { max-width: 420px; margin: 48px auto; }
.login form { display: grid; gap: 10px; }
.muted { color: var(--muted); }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; background: #fff; }
figcaption { font-size: 13px; color: var(--muted); }
details summary { cursor: pointer; color: var(--link); }
pre { white-space: pre-wrap; word-break: break-word; background: #f3f4f6; padding: 8px; border-radius: 6px; font-size: 13px; }
`;
