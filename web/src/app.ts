/**
 * The console's entry: signs in, draws the navigation the signed-in user's permissions allow
 * (GET /api/v1/me) and shows the page the URL's fragment names (`#/integrations/…`).
 */
import { ApiError, api, whenUnauthenticated } from './api.js';
import { h, replace } from './dom.js';
import { busy, errorBox, field, input, showError } from './forms.js';
import { can, go, type Page, type PageContext } from './shell.js';
import type { Permission, UserDetail } from './types.js';
import { integrationForm, integrationsList } from './page-integrations.js';
import { deliveriesLog, deliveryDetail } from './page-deliveries.js';
import { campaignDetail, campaignsList } from './page-campaigns.js';
import { contactListDetail, contactLists } from './page-contacts.js';
import { usersAndRoles } from './page-users.js';
import { dashboard } from './page-dashboard.js';
import { apiKeys } from './page-api-keys.js';

interface Route {
  pattern: RegExp;
  page: Page;
  /** The permission the page needs (every API route it reads does). */
  needs?: Permission;
}

const ROUTES: Route[] = [
  { pattern: /^\/$/, page: dashboard },
  { pattern: /^\/integrations$/, page: integrationsList, needs: 'integration' },
  { pattern: /^\/integrations\/([^/]+)$/, page: integrationForm, needs: 'integration' },
  { pattern: /^\/deliveries$/, page: deliveriesLog, needs: 'integration' },
  { pattern: /^\/deliveries\/([^/]+)$/, page: deliveryDetail, needs: 'integration' },
  { pattern: /^\/campaigns$/, page: campaignsList, needs: 'campaign' },
  { pattern: /^\/campaigns\/([^/]+)$/, page: campaignDetail, needs: 'campaign' },
  { pattern: /^\/contacts$/, page: contactLists, needs: 'contact' },
  { pattern: /^\/contacts\/([^/]+)$/, page: contactListDetail, needs: 'contact' },
  { pattern: /^\/users$/, page: usersAndRoles, needs: 'user_admin' },
  { pattern: /^\/api-keys$/, page: apiKeys },
];

/** The navigation: each entry shown only to users with its permission. */
const NAV: { path: string; label: string; needs?: Permission }[] = [
  { path: '/integrations', label: 'Integrations', needs: 'integration' },
  { path: '/deliveries', label: 'Deliveries', needs: 'integration' },
  { path: '/campaigns', label: 'Campaigns', needs: 'campaign' },
  { path: '/contacts', label: 'Contacts', needs: 'contact' },
  { path: '/users', label: 'Users & Roles', needs: 'user_admin' },
];

const root = document.getElementById('app')!;
let me: UserDetail | null = null;
let leaving: (() => void)[] = [];

/** Whether the page shown is one the route drew (not the sign-in, an error or a page loading). */
let pageShown = false;

whenUnauthenticated(() => {
  // The session ended under a page (expired, signed out elsewhere): signing in again over it
  // keeps the page, and what its forms hold, as it is.
  if (me !== null && pageShown) {
    signInOver(me);
    return;
  }
  me = null;
  showSignIn('Your session has ended: sign in again.');
});

/** The sign-in form: `signedIn` is given the account once its session is open. */
function signInForm(
  message: string | undefined,
  email: string,
  signedIn: (user: UserDetail) => void,
): HTMLFormElement {
  const form = h('form', { class: 'card sign-in', novalidate: true });
  const button = h('button', { type: 'submit' }, 'Sign in');
  form.append(
    h('h1', {}, 'Callhook'),
    h('p', { class: 'muted' }, 'Sign in to the console.'),
    errorBox(),
    field(
      'Email',
      input('email', email, { type: 'email', autocomplete: 'username', required: true }),
      'email',
    ),
    field(
      'Password',
      input('password', '', { type: 'password', autocomplete: 'current-password', required: true }),
      'password',
    ),
    button,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, button, async () => {
      const address = form.querySelector<HTMLInputElement>('[name=email]')!.value;
      const password = form.querySelector<HTMLInputElement>('[name=password]')!.value;
      await api('POST', '/auth/login', { email: address, password }, { quiet401: true });
      signedIn(await api<UserDetail>('GET', '/me'));
    });
  });
  if (message !== undefined) {
    const box = form.querySelector<HTMLElement>('.form-error')!;
    box.textContent = message;
    box.hidden = false;
  }
  return form;
}

function showSignIn(message?: string): void {
  stopPage();
  pageShown = false;
  // Shown already: signing out shows it, then the change of address it makes asks /me, whose
  // 401 would draw it again over what is being typed.
  if (message === undefined && root.querySelector(':scope > main.center > form.sign-in') !== null) {
    return;
  }
  const form = signInForm(message, '', (user) => {
    me = user;
    // The page asked for, if any (a bookmarked address); the change of address draws it.
    if (window.location.hash === '' || window.location.hash === '#/sign-in') go('/');
    else void render();
  });
  replace(root, h('main', { class: 'center' }, form));
  form.querySelector<HTMLInputElement>('[name=email]')!.focus();
}

/**
 * Sign-in over the page shown, in a modal dialog: the page is neither left nor drawn again, so a
 * form being edited keeps what was typed (the save that met the ended session says so in its
 * form: it is sent again by saving again). Signed in as someone else, the page is read again as
 * theirs.
 */
function signInOver(previous: UserDetail): void {
  if (root.querySelector('dialog.session-ended') !== null) return;
  // `closedby="none"`: Escape and a click outside do not close it, where the browser knows the
  // attribute (Chromium 134 on).
  const dialog = h('dialog', {
    class: 'session-ended',
    'aria-label': 'Sign in again',
    closedby: 'none',
  });
  let signedIn = false;
  const form = signInForm(
    'Your session has ended: sign in again. This page stays as it is, with what you typed; what was being saved was not saved, so save it again.',
    previous.email,
    (user) => {
      signedIn = true;
      dialog.close();
      dialog.remove();
      me = user;
      if (user.id !== previous.id) {
        void render();
        return;
      }
      const path = (window.location.hash.replace(/^#/, '') || '/').split('?')[0] ?? '/';
      root.querySelector('header.top')?.replaceWith(navigation(user, path));
    },
  );
  // Escape does not dismiss it: the page behind cannot save without a session. (A browser without
  // `closedby` may close it without a cancelable `cancel`, as close watchers allow: it is shown
  // again.)
  dialog.addEventListener('cancel', (event) => event.preventDefault());
  dialog.addEventListener('close', () => {
    if (!signedIn && dialog.isConnected) dialog.showModal();
  });
  dialog.append(form);
  root.append(dialog);
  dialog.showModal();
  form.querySelector<HTMLInputElement>('[name=password]')!.focus();
}

async function signOut(): Promise<void> {
  try {
    await api('POST', '/auth/logout', undefined, { quiet401: true });
  } catch (error) {
    // 401: the session had ended already (the sign-in page follows). Any other failure left
    // the session open on the server: saying so beats a sign-in page over a live session.
    if (!(error instanceof ApiError && error.status === 401)) {
      const notice = h('div', { class: 'sign-out-failed' }, errorBox());
      root.querySelector('.sign-out-failed')?.remove();
      root.querySelector('main')?.prepend(notice);
      showError(notice, error);
      notice
        .querySelector('.form-error')
        ?.prepend(h('p', {}, 'Not signed out: you are still signed in. Try again.'));
      return;
    }
  }
  me = null;
  window.location.hash = '';
  showSignIn();
}

function stopPage(): void {
  for (const stop of leaving) stop();
  leaving = [];
}

function navigation(user: UserDetail, current: string): HTMLElement {
  const entries = [{ path: '/', label: 'Dashboard' }, ...NAV].filter(
    (entry) => !('needs' in entry) || entry.needs === undefined || can(user, entry.needs),
  );
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/' }, 'Callhook'),
    h(
      'nav',
      { 'aria-label': 'Main' },
      entries.map((entry) =>
        h(
          'a',
          {
            href: `#${entry.path}`,
            class:
              entry.path === current || (entry.path !== '/' && current.startsWith(`${entry.path}/`))
                ? 'current'
                : undefined,
          },
          entry.label,
        ),
      ),
    ),
    h(
      'div',
      { class: 'who' },
      h('span', { class: 'muted' }, user.email),
      h('a', { href: '#/api-keys' }, 'API keys'),
      h('button', { type: 'button', class: 'link', onclick: () => void signOut() }, 'Sign out'),
    ),
  );
}

/** The route's parameters, decoded; undefined when one is not valid percent-encoding. */
function decodedParams(route: Route, path: string): string[] | undefined {
  try {
    return (route.pattern.exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}

/** Counts renders: a page that finishes loading after the user went elsewhere is not shown. */
let renders = 0;

async function render(): Promise<void> {
  stopPage();
  pageShown = false;
  const turn = ++renders;
  if (me === null) {
    try {
      me = await api<UserDetail>('GET', '/me', undefined, { quiet401: true });
    } catch {
      showSignIn();
      return;
    }
  }
  const hash = window.location.hash.replace(/^#/, '') || '/';
  const [rawPath = '/', search = ''] = hash.split('?');
  const path = rawPath === '/sign-in' ? '/' : rawPath;
  const main = h('main', { class: 'page' });
  replace(root, navigation(me, path), main);
  const route = ROUTES.find((r) => r.pattern.test(path));
  // A parameter that does not decode (`%E0%A4%A`, a mistyped address) names no page.
  const params = route === undefined ? undefined : decodedParams(route, path);
  if (route === undefined || params === undefined) {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No console page at ', path, '.'));
    return;
  }
  if (route.needs !== undefined && !can(me, route.needs)) {
    replace(
      main,
      h('h1', {}, 'Not allowed'),
      h('p', {}, `This page needs the "${route.needs}" permission.`),
    );
    return;
  }
  const context: PageContext = {
    me,
    params,
    query: new URLSearchParams(search),
    // A page still loading when the user went elsewhere stops what it starts at once.
    onLeave: (stop) => (turn === renders ? leaving.push(stop) : stop()),
  };
  try {
    const shown = await route.page(context);
    if (turn !== renders) return;
    replace(main, shown);
    pageShown = true;
  } catch (error) {
    if (turn !== renders) return;
    replace(main, errorBox());
    showError(main, error);
  }
}

window.addEventListener('hashchange', () => void render());
// A link to the page shown (its navigation entry) draws it again, with what changed since.
root.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[href^="#"]') : null;
  if (link !== null && link.getAttribute('href') === window.location.hash) void render();
});
void render();
