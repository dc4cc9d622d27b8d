// The dashboard's entry: the page shell (header, connection banner, token prompt), the router and the live socket.
import './styles.css';
import { api, onUnauthorized, setToken } from './api.js';
import { current, installDebug } from './debug.js';
import { fill, h, uid } from './dom.js';
import { live } from './live.js';
import { notificationToggle } from './notify.js';
import { startRouter, type Route, type View } from './router.js';
import { installShortcuts, shortcutsButton } from './shortcuts.js';
import { installTheme, themeToggle } from './theme.js';
import { AlertsView } from './views/alerts-view.js';
import { CompareView } from './views/compare.js';
import { RunPageView } from './views/run-page.js';
import { RunsListView } from './views/runs-list.js';

installDebug();
installTheme();
installShortcuts();

// Names for alert notifications: asked for one run at a time when an alert needs it (listing every run at start-up
// would cost as much as the runs table itself with thousands of runs), kept, and updated by live run frames.
const runNames = new Map<string, string>();
live.onFrame((f) => {
  if (f.type === 'run') runNames.set(f.run.id, f.run.name);
});
async function runName(id: string): Promise<string> {
  const known = runNames.get(id);
  if (known !== undefined) return known;
  const name = await api.run(id).then(
    (r) => r.name,
    () => id,
  );
  runNames.set(id, name);
  return name;
}

const main = h('main', { id: 'main', tabindex: -1 });
const banner = h('div', { class: 'banner', role: 'status', 'aria-live': 'assertive', hidden: true });
const liveDot = h('span', { class: 'live-state connecting', role: 'status', 'aria-live': 'polite' }, 'connecting…');
const nav = h(
  'nav',
  { 'aria-label': 'Main' },
  h('a', { href: '#/', 'data-nav': 'runs' }, 'Runs'),
  h('a', { href: '#/alerts', 'data-nav': 'alerts' }, 'Alerts'),
);
const header = h(
  'header',
  { class: 'app-header' },
  h('a', { class: 'brand', href: '#/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '◐'), ' ganwatch'),
  nav,
  h('span', { class: 'spacer' }),
  liveDot,
  notificationToggle(runName),
  themeToggle(),
  shortcutsButton(),
);
const app = document.getElementById('app')!;
fill(app, header, banner, main);

document.querySelector<HTMLAnchorElement>('.skip-link')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

// --- live connection state -----------------------------------------------------------------------------------
let bannerTimer: ReturnType<typeof setTimeout> | null = null;
let countdown: ReturnType<typeof setInterval> | null = null;
live.onState((state, retryInMs) => {
  liveDot.className = `live-state ${state}`;
  liveDot.textContent = state === 'open' ? 'live' : state === 'connecting' ? 'connecting…' : 'offline';
  if (bannerTimer) clearTimeout(bannerTimer);
  if (countdown) clearInterval(countdown);
  if (state === 'reconnecting') {
    banner.hidden = false;
    banner.className = 'banner banner-error';
    const until = Date.now() + retryInMs;
    const paint = (): void => {
      const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      banner.textContent = `Server gone: reconnecting…${s > 0 ? ` (next try in ${s} s)` : ''} Charts resume where they left off.`;
    };
    paint();
    countdown = setInterval(paint, 1000);
  } else if (state === 'open' && !banner.hidden) {
    banner.className = 'banner banner-ok';
    banner.textContent = 'Reconnected: live again.';
    bannerTimer = setTimeout(() => (banner.hidden = true), 3000);
  }
});

// --- token prompt --------------------------------------------------------------------------------------------
let tokenDialog: HTMLDialogElement | null = null;
onUnauthorized(() => {
  if (tokenDialog?.open) return;
  const inputId = uid('token');
  const input = h('input', { id: inputId, type: 'password', autocomplete: 'current-password', required: true });
  tokenDialog = h(
    'dialog',
    { class: 'token-dialog', 'aria-labelledby': `${inputId}-title` },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: `${inputId}-title` }, 'This server needs a read token'),
      h(
        'p',
        null,
        'Enter the token the server was started with (--read-token or --token). It is kept in this browser.',
      ),
      h('p', { class: 'field-block' }, h('label', { for: inputId }, 'Token'), input),
      h('p', { class: 'dialog-buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Use token')),
    ),
  );
  tokenDialog.querySelector('form')!.addEventListener('submit', () => {
    setToken(input.value);
    live.reconnectNow();
    render(lastRoute);
  });
  document.body.append(tokenDialog);
  tokenDialog.showModal();
});

// --- routing -------------------------------------------------------------------------------------------------
let view: View | null = null;
let lastRoute: Route = { view: 'runs' };

function render(route: Route): void {
  lastRoute = route;
  view?.dispose();
  view = null;
  current.grid = null;
  current.samples = null;
  current.latent = null;
  current.view = route.view;
  nav.querySelectorAll<HTMLAnchorElement>('a').forEach((a) => {
    const on = a.dataset.nav === (route.view === 'alerts' ? 'alerts' : 'runs');
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  window.scrollTo(0, 0);
  view = openView(route);
  // Move focus to the new view's heading so screen readers announce the page change.
  requestAnimationFrame(() => main.querySelector<HTMLElement>('h2[tabindex]')?.focus({ preventScroll: true }));
}

/** Mounts the route's view in <main>; the page-not-found text has nothing to dispose. */
function openView(route: Route): View | null {
  switch (route.view) {
    case 'runs':
      return mounted(new RunsListView(main, route), 'Runs · ganwatch');
    case 'run':
      return mounted(new RunPageView(main, route.id));
    case 'compare':
      return mounted(new CompareView(main, route.runs));
    case 'alerts':
      return mounted(new AlertsView(main), 'Alerts · ganwatch');
    case 'missing':
      fill(
        main,
        h('h2', { tabindex: -1 }, 'Page not found'),
        h(
          'p',
          null,
          'There is nothing at ',
          h('code', null, route.path),
          '. ',
          h('a', { href: '#/' }, 'See all runs.'),
        ),
      );
      return null;
  }
}

function mounted(v: View, title?: string): View {
  v.mount();
  if (title !== undefined) document.title = title;
  return v;
}

live.connect();
startRouter(render);
