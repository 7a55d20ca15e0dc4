/**
 * What URL templates are checked for: a start that can only give an http(s) URL, no `.` or `..`
 * path segment in what they render, and whether a render is already canonical (no parse needed).
 */
import type { Part } from './syntax.js';
import type { Positioner, TemplateProblem } from './problems.js';

/** The render error of a URL whose path has a `.` or `..` segment. */
export const DOT_SEGMENT = 'renders a path with a `.` or `..` segment, which would change the path';

/**
 * True when every render of this URL template is already what `new URL(…).href` would give, so
 * the render can skip parsing: the scheme and authority are literal, and the template with its
 * tokens replaced by letters is its own href. Escaped tokens only add `A-Z a-z 0-9 - . _ ~` and
 * `%XX`, which the URL parser leaves as they are after the authority.
 */
export function isCanonicalUrl(parts: readonly Part[]): boolean {
  const first = parts[0];
  if (first?.kind !== 'text' || !/^https?:\/\/[^/?#]+[/?#]/.test(first.text)) return false;
  const sample = parts.map((p) => (p.kind === 'text' ? p.text : 'x')).join('');
  try {
    return new URL(sample).href === sample && !hasDotSegment(sample);
  } catch {
    return false;
  }
}

/** True when the path of `url` (as written, before normalisation) has a `.` or `..` segment. */
export function hasDotSegment(url: string): boolean {
  const authority = url.indexOf('//');
  // The path starts at the first `/` after the authority, unless a query or fragment comes
  // first: `https://h?next=/a/../b` has no path, and its query is not one.
  const after = authority < 0 ? 0 : authority + 2;
  const pathEnd = (from: number) => {
    let end = url.length;
    for (const stop of ['?', '#']) {
      const index = url.indexOf(stop, from);
      if (index >= 0 && index < end) end = index;
    }
    return end;
  };
  const start = url.indexOf('/', after);
  if (start < 0 || start > pathEnd(after)) return false;
  const path = url.slice(start, pathEnd(start));
  if (!path.includes('.') && !/%2e/i.test(path)) return false;
  return path.split(/[/\\]/).some((segment) => /^(\.|%2e){1,2}$/i.test(segment));
}

/**
 * The tokens written in a URL template's authority: after its literal `http(s)://` and before the
 * next `/`, `\`, `?` or `#` (the URL parser reads a `\` as `/` in http(s) URLs). A value there
 * can move the request to another host (`.evil.example`, `@other.example`); after the authority a
 * percent-encoded value cannot reach back into it. A template that starts with a token (a base
 * URL) has no literal authority: none is returned.
 */
export function authorityTokens(parts: readonly Part[]): Set<Part> {
  const found = new Set<Part>();
  // The parser drops tabs and newlines, then skips every `/` and `\` after `http(s):`:
  // `https:///crm{{v}}` and `https://\crm{{v}}` have their host right after them.
  const start = /^\s*https?:\/\/[/\\\t\n\r]*/i.exec(parts[0]?.kind === 'text' ? parts[0].text : '');
  if (start === null) return found;
  for (const [index, part] of parts.entries()) {
    if (part.kind === 'expr') found.add(part);
    else if (/[/\\?#]/.test(index === 0 ? part.text.slice(start[0].length) : part.text)) break;
  }
  return found;
}

/**
 * The host of `url` when it is an IPv4 address that `out` (the URL as rendered, before parsing)
 * does not write as one: a host that ends in a number is read as an address, so letters and digits
 * in the host part could choose any (`https://{{v}}/` with `134744072` is 8.8.8.8, with `0x7f.1`
 * 127.0.0.1). Undefined for a name, or an address written out (`10.0.0.{{v}}` with `7`).
 */
export function addressNotWritten(out: string, url: URL): string | undefined {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(url.hostname)) return undefined;
  const authority = /^\s*https?:[/\\]*([^/\\?#]*)/i.exec(out.replace(/[\t\n\r]/g, ''))?.[1] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '');
  return host === url.hostname ? undefined : host;
}

/**
 * What a token in a URL's authority may render: letters, digits and `-`, so it can be (part of)
 * one host label, a port or a user name, never a `.`, `@` or `:` that would choose another host.
 */
export const AUTHORITY_VALUE = /^[A-Za-z0-9-]*$/;

/**
 * The URL template starts with http(s):// or a token (a base URL), and with its tokens filled in
 * it parses: a literal part no value can repair (a space in the host) would fail every render. A
 * password in the URL is refused: the URL is not kept secret, an `Authorization` header is.
 */
export function checkUrlStart(
  parts: readonly Part[],
  at: Positioner,
  problems: TemplateProblem[],
): void {
  const first = parts[0];
  if (first?.kind === 'expr') return;
  if (first === undefined || !/^\s*https?:\/\//i.test(first.text)) {
    problems.push(at(0, 'must start with http:// or https://, or with a token holding a base URL'));
    return;
  }
  // Escaped token values only add `A-Z a-z 0-9 - . _ ~` and `%XX`: a letter stands for a value
  // anywhere but in a port, where a digit does.
  const url = ['x', '0']
    .map((filler) =>
      parts
        .map((p) => (p.kind === 'text' ? p.text : filler))
        .join('')
        .trim(),
    )
    .filter((sample) => URL.canParse(sample))
    .map((sample) => new URL(sample))[0];
  if (url === undefined) {
    problems.push(at(0, 'is not a valid URL'));
  } else if (url.password !== '') {
    problems.push(
      at(
        0,
        'has a password in it, which would be stored and shown in clear: send it in an `Authorization: Basic …` header, which is kept secret',
      ),
    );
  }
}
