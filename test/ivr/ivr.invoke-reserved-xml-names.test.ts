/**
 * Elements named like the properties every JS object has (`constructor`, `__proto__`,
 * `toString`…) are ones fast-xml-parser refuses or renames. An IVR invocation reads them like
 * any other element, and logs the invocation as usual.
 */
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { useIvrAppWithServer } from './ivr-app.js';

describe.each(DIALECTS)(
  'IVR invoke with XML elements named like object properties on %s',
  (backend) => {
    const ivr = useIvrAppWithServer(backend, (req, res) => {
      const name = new URL(req.url!, 'http://x').pathname.slice(1);
      res
        .writeHead(200, { 'content-type': 'application/xml' })
        .end(`<?xml version="1.0"?><r><balance>7.25</balance><${name}>1</${name}></r>`);
    });

    it.each(['constructor', 'prototype', '__proto__', 'toString'])(
      'reads <%s> into a variable and logs the invocation',
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
          variables: { balance: '7.25', flag: '1', status: '200' },
        });
        expect(answer.reason).toBeUndefined();
        const { delivery, attempts } = await ivr.t.logged(answer.deliveryId);
        expect(delivery).toMatchObject({ kind: 'ivr', integration_id: id, contact_id: 'k-1' });
        expect(attempts).toHaveLength(1);
      },
    );
  },
);
