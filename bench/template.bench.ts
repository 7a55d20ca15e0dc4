/**
 * The token language's hot path: render a typical integration (URL with two tokens, a 10-token
 * JSON body, 3 headers) and compile it. Targets: render ≤ 5 µs median, compile ≤ 200 µs median.
 */
import type { BenchResult } from './run.js';
import { median, percentile, timePerCall } from './stats.js';
import { compileHttpRequest } from '../src/template/http-request-template.js';
import { eventScope } from '../src/template/scope.js';

const INTEGRATION = {
  url: 'https://crm.example/api/calls/{{call.id}}?phone={{contact.phone}}',
  method: 'POST',
  headers: [
    'Content-Type: application/json',
    'Authorization: Bearer 9f2c4e1a7b',
    'X-Campaign: {{campaign.name}}',
  ].join('\n'),
  // As a user types it: quotes inside `{{ }}` belong to the expression, not to the JSON.
  body: `{
  "event": "{{event.type}}",
  "status": "{{call.status}}",
  "phone": "{{contact.phone | digits}}",
  "firstName": "{{contact.firstName | default:"there"}}",
  "lastName": "{{contact.lastName}}",
  "email": "{{contact.email | lower}}",
  "plan": "{{contact.custom.plan}}",
  "startedAt": "{{call.startedAt | date:"iso"}}",
  "campaign": "{{campaign.id}}",
  "duration": {{call.duration}}
}`,
};

const SCOPE = eventScope({
  event: {
    id: 'ev-1',
    type: 'call.ended',
    occurredAt: '2026-11-27T10:00:00Z',
    campaignId: 'spring',
    call: {
      id: 'c-9',
      phone: '+15551234567',
      status: 'answered',
      duration: 42,
      startedAt: '2026-11-27T09:59:10Z',
    },
    contact: {
      id: 'k-3',
      phone: '+1 (555) 123-4567',
      firstName: 'Ana "A"',
      lastName: 'Silva & Sons',
      email: 'Ana@Example.com',
      custom: { plan: 'gold' },
    },
  },
  campaign: { id: 'cmp-1', name: 'Spring', type: 'voice' },
  integration: { id: 'int-1', name: 'CRM push' },
});

export default async function bench(): Promise<BenchResult> {
  const compiled = compileHttpRequest(INTEGRATION);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
  const request = compiled.request;
  const check = request.render(SCOPE);
  if (!check.ok) throw new Error(check.error.message);
  JSON.parse(check.request.body ?? '');
  const tokens = (INTEGRATION.body.match(/\{\{/g) ?? []).length;

  // Warm up, then time: rounds of many calls, median of the per-call time of each round.
  timePerCall(() => request.render(SCOPE), 20, 10_000);
  const render = timePerCall(() => request.render(SCOPE), 60, 10_000);
  timePerCall(() => compileHttpRequest(INTEGRATION), 10, 200);
  const compile = timePerCall(() => compileHttpRequest(INTEGRATION), 40, 200);

  const rows = [
    ['render (URL + headers + body)', render, 5],
    ['compile (all three fields)', compile, 200],
  ] as const;
  const table = rows
    .map(
      ([name, times, target]) =>
        `| ${name} | ${median(times).toFixed(2)} µs | ${percentile(times, 95).toFixed(2)} µs | ≤ ${target} µs | ${median(times) <= target ? 'met' : '**missed**'} |`,
    )
    .join('\n');
  return {
    title: 'Templates: compile once, render per delivery',
    markdown: `A typical integration: URL with 2 tokens, ${tokens}-token JSON body, 3 headers (one templated),
scope built from a call.ended event. Times are per call: the median and 95th percentile over rounds
of 10,000 renders or 200 compiles.

| operation | median | p95 | target | |
| --- | --- | --- | --- | --- |
${table}

Compile is ${(median(compile) / median(render)).toFixed(0)}× a render: templates are compiled once per
integration version and rendered for every attempt.`,
  };
}
