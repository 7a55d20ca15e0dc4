/**
 * fast-xml-parser refuses (throws on) elements named `constructor`, `prototype` or `__proto__`.
 * An IVR invocation whose remote answers such XML is answered and logged like one whose body is
 * not valid XML: variables take their defaults and `reason` says why.
 */
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { useIvrAppWithServer } from './ivr-app.js';

describe.each(DIALECTS)('IVR invoke with reserved XML element names on %s', (backend) => {
  const ivr = useIvrAppWithServer(backend, (req, res) => {
    const name = new URL(req.url!, 'http://x').pathname.slice(1);
    res
      .writeHead(200, { 'content-type': 'application/xml' })
      .end(`<?xml version="1.0"?><r><balance>7.25</balance><${name}>1</${name}></r>`);
  });

  it.each(['constructor', 'prototype', '__proto__'])(
    'answers <%s> with defaults and a reason, and logs the invocation',
    async (name) => {
      const id = await ivr.t.create(ivr.alice.headers, {
        config: { method: 'GET', url: `${ivr.server.origin}/${name}`, responseEncoding: 'xml' },
        options: {
          responseVariables: [
            { name: 'balance', path: 'r.balance', default: '0' },
            { name: 'flag', path: `r.${name}` },
          ],
        },
      });
      const { statusCode, answer, body } = await ivr.t.invoke(ivr.alice.headers, id, {
        contact: { id: 'k-1' },
      });
      expect(statusCode, body).toBe(200);
      expect(answer).toMatchObject({
        outcome: 'success',
        status: 200,
        variables: { balance: '0', flag: '', status: '200' },
      });
      expect(answer.variables['body']).toContain(`<${name}>1</${name}>`);
      expect(answer.reason).toMatch(new RegExp(`could not be read as XML: .*"${name}"`));
      const { delivery, attempts } = await ivr.t.logged(answer.deliveryId);
      expect(delivery).toMatchObject({ kind: 'ivr', integration_id: id, contact_id: 'k-1' });
      expect(attempts).toHaveLength(1);
    },
  );
});
