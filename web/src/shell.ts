/** What every page is given, and the small pieces pages share (headings, pagers, empty lists). */
import type { Permission, UserDetail } from './types.js';
import { h, type Child } from './dom.js';

export interface PageContext {
  me: UserDetail;
  /** The route's parameters (`#/deliveries/:id` → [id]). */
  params: string[];
  /** The fragment's query (`#/deliveries?status=failed`). */
  query: URLSearchParams;
  /** Runs when the page is left (stops its polling). */
  onLeave(stop: () => void): void;
}

export type Page = (context: PageContext) => Promise<HTMLElement> | HTMLElement;

export function can(me: UserDetail, permission: Permission): boolean {
  return me.admin || me.effectivePermissions.includes(permission);
}

/**
 * Goes to a console page (`#/path`); the page shown is drawn again (read again from the API), as
 * a browser's address set to itself changes nothing (a filter applied twice, a list refreshed).
 */
export function go(path: string): void {
  const target = `#${path}`;
  if (window.location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = target;
}

export function heading(title: string, ...actions: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'page-head' },
    h('h1', {}, title),
    h('div', { class: 'actions' }, actions),
  );
}

/** A link to a console page. */
export function link(
  path: string,
  text: Child,
  attrs: Record<string, string> = {},
): HTMLAnchorElement {
  return h('a', { href: `#${path}`, ...attrs }, text);
}

export function table(
  headers: string[],
  rows: HTMLTableRowElement[],
  empty = 'Nothing yet.',
): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted empty' }, empty);
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((text) => h('th', {}, text)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

/** Repeats `tick` every `ms` while the page is shown (and once now). */
export function poll(context: PageContext, ms: number, tick: () => Promise<boolean | void>): void {
  let timer: number | undefined;
  let stopped = false;
  const run = async () => {
    try {
      if ((await tick()) === false) return; // nothing left to watch
    } catch {
      // a failed poll is shown by the page's own next success or error; try again later
    }
    if (!stopped) timer = window.setTimeout(() => void run(), ms);
  };
  context.onLeave(() => {
    stopped = true;
    window.clearTimeout(timer);
  });
  void run();
}

/** A "More" button that loads the next page of a list while it has one. */
export function pager(
  load: (cursor: string) => Promise<string | null>,
  first: string | null,
): HTMLElement {
  const wrap = h('div', { class: 'pager' });
  let cursor = first;
  const button = h('button', { type: 'button', class: 'secondary' }, 'More');
  // A page that did not come is said here; More tries the same page again.
  const failed = h('span', { class: 'bad', role: 'alert' });
  const refresh = () => {
    button.hidden = cursor === null;
  };
  button.addEventListener('click', () => {
    if (cursor === null) return;
    button.disabled = true;
    failed.textContent = '';
    void load(cursor)
      .then((next) => {
        cursor = next;
      })
      .catch((error: unknown) => {
        failed.textContent = ` The next page did not load: ${error instanceof Error ? error.message : String(error)}`;
      })
      .finally(() => {
        button.disabled = false;
        refresh();
      });
  });
  refresh();
  wrap.append(button, failed);
  return wrap;
}
