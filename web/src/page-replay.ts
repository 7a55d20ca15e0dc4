/** An integration's replay jobs: start one (failed deliveries since a time), watch it, cancel it. */
import { api, type Page } from './api.js';
import { badge, h, localZone, replace, when } from './dom.js';
import { busy, errorBox, field, input } from './forms.js';
import { poll, type PageContext } from './shell.js';
import type { ReplayJob } from './types.js';

export function replayPanel(context: PageContext, integrationId: string): HTMLElement {
  const base = `/integrations/${encodeURIComponent(integrationId)}/replay`;
  const panel = h('form', { class: 'card replay-panel', novalidate: true });
  const jobs = h('div', { class: 'jobs' });
  const dayAgo = new Date(Date.now() - 24 * 3600 * 1000);
  const local = new Date(dayAgo.getTime() - dayAgo.getTimezoneOffset() * 60_000)
    .toISOString()
    .slice(0, 16);
  const since = input('since', local, { type: 'datetime-local' });
  const start = h('button', { type: 'submit' }, 'Replay');
  const draw = async (): Promise<boolean> => {
    const page = await api<Page<ReplayJob>>('GET', `${base}?limit=10`);
    replace(
      jobs,
      page.items.length === 0
        ? h('p', { class: 'muted' }, 'No replay yet.')
        : h(
            'ul',
            { class: 'job-list' },
            page.items.map((job) =>
              h(
                'li',
                {},
                badge(job.status),
                ` since ${when(job.since)}: ${job.requeued} of ${job.total} requeued`,
                job.error ? h('span', { class: 'bad' }, ` ${job.error}`) : null,
                job.status === 'running'
                  ? h('progress', { max: Math.max(job.total, 1), value: job.requeued })
                  : h('small', { class: 'muted' }, ` ${when(job.finishedAt)}`),
                job.status === 'running'
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'link',
                        onclick: () =>
                          void busy(panel, null, async () => {
                            await api('POST', `${base}/${encodeURIComponent(job.id)}/cancel`);
                            await draw();
                          }),
                      },
                      'Cancel',
                    )
                  : null,
              ),
            ),
          ),
    );
    return page.items.some((job) => job.status === 'running');
  };
  panel.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(panel, start, async () => {
      const value = since.value === '' ? '' : new Date(since.value).toISOString();
      await api('POST', base, { since: value });
      watch();
    });
  });
  let watching = false;
  const watch = () => {
    if (watching) return;
    watching = true;
    poll(context, 1500, async () => {
      const running = await draw();
      if (!running) watching = false;
      return running;
    });
  };
  panel.append(
    h('h2', {}, 'Replay'),
    h(
      'p',
      { class: 'muted' },
      'Send again every failed delivery of this integration created since a time.',
    ),
    errorBox(),
    field('Since', since, 'since', `In ${localZone()} time.`),
    h('div', { class: 'actions' }, start),
    jobs,
  );
  watch();
  return panel;
}
