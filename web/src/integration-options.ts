/**
 * The options of an integration's form (SPEC §2.3): the fieldset, and what it holds as the API
 * takes it. Numbers are sent as typed (a part that is not a number stays text, for the API to
 * name); what the form leaves empty is left out.
 */
import { h, localZone, valueOf, when } from './dom.js';
import { field, input, textarea } from './forms.js';

/**
 * A field whose text is a list the API reads by index: its errors say which line (`lines`) or
 * item (`items`) they are about.
 */
function listField(rows: 'lines' | 'items', ...args: Parameters<typeof field>): HTMLElement {
  const marked = field(...args);
  marked.setAttribute('data-rows', rows);
  return marked;
}
import type { IntegrationOptions } from './types.js';

/**
 * A number from a form control: undefined when empty, the text itself (for the API to refuse)
 * when not a number.
 */
function num(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** `200, 201` → [200, 201]; a part that is not a number is kept as text for the API to name. */
function numList(text: string): (number | string)[] | undefined {
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  return parts.length === 0 ? undefined : parts.map((p) => num(p) ?? p);
}

function defined(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
}

/** The options fieldset, filled from `options` (those stored, or none for a new integration). */
export function optionsFieldset(options: Partial<IntegrationOptions>): HTMLElement {
  return h(
    'fieldset',
    { class: 'options' },
    h('legend', {}, 'Options'),
    h(
      'div',
      { class: 'grid' },
      field(
        'Timeout (ms)',
        input('options.timeoutMs', options.timeoutMs ?? '', {
          inputmode: 'numeric',
          placeholder: '10000',
        }),
        'options.timeoutMs',
      ),
      field(
        'Max attempts',
        input('options.retry.maxAttempts', options.retry?.maxAttempts ?? '', {
          inputmode: 'numeric',
          placeholder: '8',
        }),
        'options.retry.maxAttempts',
      ),
      listField(
        'items',
        'Retry schedule (s)',
        input('options.retry.scheduleSeconds', (options.retry?.scheduleSeconds ?? []).join(', '), {
          placeholder: '0, 5, 300, 1800',
        }),
        'options.retry.scheduleSeconds',
        'Delay before attempt 2, 3, …',
      ),
      field(
        'Max concurrency',
        input('options.maxConcurrency', options.maxConcurrency ?? '', { inputmode: 'numeric' }),
        'options.maxConcurrency',
      ),
      field(
        'Rate per second',
        input('options.ratePerSecond', options.ratePerSecond ?? '', { inputmode: 'decimal' }),
        'options.ratePerSecond',
      ),
      listField(
        'items',
        'Success statuses',
        input('options.successStatuses', (options.successStatuses ?? []).join(', '), {
          placeholder: 'any 2xx',
        }),
        'options.successStatuses',
      ),
      field(
        'Signing secret',
        // Shown as dots, like the stored one (••••): a secret typed in is not left on screen.
        input('options.signing.secret', options.signing?.secret ?? '', {
          type: 'password',
          placeholder: 'whsec_…',
          autocomplete: 'new-password',
        }),
        'options.signing.secret',
        'Standard Webhooks signature headers on every request.',
      ),
      options.signing === undefined
        ? null
        : field(
            'Rotate: old secret valid until',
            input('options.signing.previousExpiresAt', '', { type: 'datetime-local' }),
            'options.signing.previousExpiresAt',
            [
              `With a new secret: requests carry both signatures until then (${localZone()} time).`,
              options.signing.previousExpiresAt === undefined
                ? ''
                : ` The old secret now signs too until ${when(options.signing.previousExpiresAt)}.`,
            ],
          ),
      field(
        'IVR cache TTL (s)',
        input('options.cacheTtlSeconds', options.cacheTtlSeconds ?? '', { inputmode: 'numeric' }),
        'options.cacheTtlSeconds',
      ),
    ),
    listField(
      'lines',
      'Response variables',
      textarea(
        'options.responseVariables',
        (options.responseVariables ?? [])
          .map((v) => [v.name, v.path, v.default].filter((p) => p !== undefined).join(' '))
          .join('\n'),
        { rows: 3, placeholder: 'balance customer.balance 0' },
      ),
      'options.responseVariables',
      'One per line: name, path, and an optional default.',
    ),
  );
}

/**
 * The options `form` holds, as the API takes them; `options` (those stored) fill what the form
 * keeps unchanged: a masked signing secret, a retry budget when only the schedule is typed.
 */
export function readOptions(
  form: HTMLElement,
  options: Partial<IntegrationOptions>,
): Record<string, unknown> {
  const responseVariables = valueOf(form, 'options.responseVariables')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [name = '', path = '', ...rest] = line.split(/\s+/);
      return rest.length === 0 ? { name, path } : { name, path, default: rest.join(' ') };
    });
  const maxAttempts = num(valueOf(form, 'options.retry.maxAttempts'));
  const scheduleSeconds = numList(valueOf(form, 'options.retry.scheduleSeconds'));
  const retry =
    maxAttempts === undefined && scheduleSeconds === undefined
      ? undefined
      : defined({ maxAttempts: maxAttempts ?? options.retry?.maxAttempts ?? 8, scheduleSeconds });
  const secret = valueOf(form, 'options.signing.secret').trim();
  const rotateUntil = valueOf(form, 'options.signing.previousExpiresAt');
  const signing =
    secret === ''
      ? undefined
      : secret === options.signing?.secret || rotateUntil === ''
        ? // unchanged (a rotation under way stays), or a new secret that replaces the old at once
          { ...(secret === options.signing?.secret ? options.signing : {}), secret }
        : // the masked old secret stays valid beside the new one until then (docs/delivery.md)
          {
            secret,
            previousSecret: options.signing?.secret ?? '',
            previousExpiresAt: new Date(rotateUntil).toISOString(),
          };
  return defined({
    timeoutMs: num(valueOf(form, 'options.timeoutMs')),
    retry,
    maxConcurrency: num(valueOf(form, 'options.maxConcurrency')),
    ratePerSecond: num(valueOf(form, 'options.ratePerSecond')),
    successStatuses: numList(valueOf(form, 'options.successStatuses')),
    signing,
    cacheTtlSeconds: num(valueOf(form, 'options.cacheTtlSeconds')),
    responseVariables,
  });
}
