/**
 * Elements are built with `h()`, never from HTML strings: every text from the API lands as a text
 * node, so nothing it holds can become markup or script.
 */

export type Child = Node | string | number | null | undefined | false | Child[];
export type Attrs = Record<
  string,
  string | number | boolean | null | undefined | ((event: Event) => void)
>;

/**
 * An element with attributes (`on…` functions become listeners; `true`/`false` set or drop a
 * boolean attribute; `value` and `checked` set the property) and children.
 *
 * ### Examples
 * ```ts
 * h('button', { type: 'button', onclick: () => save() }, 'Save');
 * h('ul', {}, items.map((i) => h('li', {}, i.name)));
 * ```
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === 'value' && 'value' in element) {
      (element as HTMLInputElement).value = String(value);
    } else if (name === 'checked' && element instanceof HTMLInputElement) {
      element.checked = value === true;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces `parent`'s children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * A date-time as the browser's locale writes it, in the browser's time zone and naming it
 * (`11/29/2026, 3:41:25 PM GMT+1`): the dialer's and the receivers' logs are often in another
 * ('' for none).
 */
export function when(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { timeZoneName: 'short' });
}

/** The browser's time zone (`Europe/Berlin`): what a `datetime-local` field's value is read in. */
export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** A status word in a badge coloured by its class (`status-succeeded`, `status-failed`, …). */
export function badge(status: string): HTMLElement {
  return h('span', { class: `badge status-${status}` }, status);
}

/** A block of preformatted text (request and response bodies, headers). */
export function pre(text: string, attrs: Attrs = {}): HTMLPreElement {
  return h('pre', attrs, text);
}

/** The value of a named form control inside `root` ('' when there is none). */
export function valueOf(root: ParentNode, name: string): string {
  const control = root.querySelector<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
    `[name="${name}"]`,
  );
  return control?.value ?? '';
}

export function checkedOf(root: ParentNode, name: string): boolean {
  return root.querySelector<HTMLInputElement>(`[name="${name}"]`)?.checked ?? false;
}
