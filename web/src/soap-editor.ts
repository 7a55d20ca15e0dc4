/** The SOAP part of the integration form: WSDL URL → describe → operation → parameters. */
import { ApiError, api } from './api.js';
import { h, replace, valueOf } from './dom.js';
import { busy, errorBox, field, input, numberRows, textarea } from './forms.js';
import { template } from './templates.js';
import type { SoapConfig, SoapDescription, SoapOperation, SoapParamSpec } from './types.js';

/**
 * The parameter names of an input's text values: `customer.address.city`, and the first item of
 * a list (`lines.0.sku`), as the API reads dotted names.
 */
function leafNames(param: SoapParamSpec): string[] {
  if (param.children !== undefined && param.children.length > 0) {
    return param.children.flatMap(leafNames);
  }
  return [param.path.replace(/\[\]/g, '.0')];
}

/** The SOAP fieldset and a reader of the config it holds. */
export function soapEditor(initial: SoapConfig): {
  element: HTMLElement;
  config: () => SoapConfig;
} {
  const wsdl = input('config.wsdlUrl', initial.wsdlUrl, { placeholder: 'http://erp.lan/ws?wsdl' });
  const operation = h(
    'select',
    { name: 'config.operation' },
    h('option', { value: initial.operation }, initial.operation || '(describe the WSDL first)'),
  );
  operation.value = initial.operation;
  let service = initial.service;
  let port = initial.port;
  let operations: { service: string; port: string; op: SoapOperation }[] = [];
  const rows = h('div', { class: 'params' });
  const addRow = (name = '', value = '', secret = false) => {
    const index = rows.children.length;
    // A secret parameter's value shows as dots, typed or stored (••••).
    const valueInput = input('param-value', value, {
      type: secret ? 'password' : 'text',
      autocomplete: 'off',
      placeholder: 'text, {{token}} or both',
      'aria-label': 'Parameter value',
    });
    const secretBox = h('input', { type: 'checkbox', name: 'param-secret', checked: secret });
    secretBox.addEventListener('change', () => {
      valueInput.type = secretBox.checked ? 'password' : 'text';
    });
    const row = h(
      'div',
      { class: 'param-row', 'data-field': `config.params.${index}` },
      h(
        'div',
        { 'data-field': `config.params.${index}.name` },
        input('param-name', name, {
          placeholder: 'name (dotted for nested)',
          'aria-label': 'Parameter name',
        }),
      ),
      h('div', { 'data-field': `config.params.${index}.value` }, template(valueInput)),
      h('label', { class: 'inline' }, secretBox, ' secret'),
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            row.remove();
            numberRows(rows, 'config.params.');
          },
        },
        'Remove',
      ),
    );
    rows.appendChild(row);
    numberRows(rows, 'config.params.');
  };
  for (const param of initial.params) addRow(param.name, param.value, param.secret);
  const status = h('span', { class: 'muted' });
  const paramsNote = h('span', { class: 'muted params-note', role: 'status' });
  const describe = h('button', { type: 'button', class: 'secondary' }, 'Describe');
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh WSDL');
  const element = h(
    'fieldset',
    { class: 'soap-config' },
    h('legend', {}, 'SOAP request'),
    errorBox(),
    field('WSDL URL', wsdl, 'config.wsdlUrl'),
    h('div', { class: 'actions' }, describe, refresh, status),
    field('SOAP action', operation, 'config.operation', 'An operation of the WSDL.'),
    h(
      'div',
      { class: 'field', 'data-field': 'config.params' },
      h('label', {}, 'SOAP parameters'),
      rows,
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => addRow() },
          'Add parameter',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              const chosen = operations.find((o) => key(o) === operation.value);
              // What it could not do is said beside it, not left to a click that changed nothing.
              if (chosen === undefined) {
                paramsNote.textContent =
                  'Describe the WSDL first: its operations list their parameters.';
                return;
              }
              const have = new Set(
                [...rows.querySelectorAll<HTMLInputElement>('[name=param-name]')].map(
                  (i) => i.value,
                ),
              );
              const names = chosen.op.params.flatMap(leafNames);
              const missing = names.filter((name) => !have.has(name));
              for (const name of missing) addRow(name);
              paramsNote.textContent =
                names.length === 0
                  ? `${chosen.op.name} takes no parameters.`
                  : missing.length === 0
                    ? `Every parameter of ${chosen.op.name} is listed already.`
                    : '';
            },
          },
          'Add the operation’s parameters',
        ),
        paramsNote,
      ),
    ),
    field(
      'SOAP headers',
      template(textarea('config.soapHeaders', initial.headers, { rows: 2 })),
      'config.headers',
      'Extra HTTP headers, one "Name: value" per line.',
    ),
  );
  const key = (o: { service: string; port: string; op: SoapOperation }) =>
    `${o.service}/${o.port}/${o.op.name}`;
  // Describe answers from the cache (an hour); Refresh fetches the WSDL again now.
  const load = (button: HTMLButtonElement, route: 'describe' | 'refresh') =>
    void busy(element, button, async () => {
      status.textContent = 'Fetching the WSDL…';
      try {
        const description = await api<SoapDescription>('POST', `/soap/${route}`, {
          wsdlUrl: wsdl.value,
        });
        operations = description.services.flatMap((s) =>
          s.ports.flatMap((p) => p.operations.map((op) => ({ service: s.name, port: p.name, op }))),
        );
        const names = operations.map((o) => o.op.name);
        replace(
          operation,
          operations.map((o) =>
            h(
              'option',
              { value: key(o) },
              names.filter((n) => n === o.op.name).length > 1
                ? `${o.op.name} (${o.service}/${o.port})`
                : o.op.name,
            ),
          ),
        );
        const current = operations.find(
          (o) =>
            o.op.name === initial.operation && (service === undefined || o.service === service),
        );
        if (current !== undefined) operation.value = key(current);
        status.textContent = `${operations.length} operation(s).`;
      } catch (error) {
        status.textContent = '';
        // The describe request's `wsdlUrl` is the form's WSDL URL: its problem goes under it.
        throw error instanceof ApiError
          ? new ApiError(
              error.status,
              error.code,
              error.message,
              Array.isArray(error.details)
                ? error.details.map((detail) =>
                    detail.field === 'body.wsdlUrl'
                      ? { ...detail, field: 'config.wsdlUrl' }
                      : detail,
                  )
                : error.details,
            )
          : error;
      }
    });
  describe.addEventListener('click', () => load(describe, 'describe'));
  refresh.addEventListener('click', () => load(refresh, 'refresh'));
  return {
    element,
    config: () => {
      const chosen = operations.find((o) => key(o) === operation.value);
      let name = operation.value;
      if (chosen !== undefined) {
        name = chosen.op.name;
        const ambiguous = operations.filter((o) => o.op.name === name).length > 1;
        service = ambiguous ? chosen.service : undefined;
        port = ambiguous ? chosen.port : undefined;
      }
      const params = [...rows.querySelectorAll<HTMLElement>('.param-row')].map((row) => ({
        name: row.querySelector<HTMLInputElement>('[name=param-name]')!.value,
        value: row.querySelector<HTMLInputElement>('[name=param-value]')!.value,
        secret: row.querySelector<HTMLInputElement>('[name=param-secret]')!.checked,
      }));
      return {
        wsdlUrl: wsdl.value,
        operation: name,
        ...(service === undefined ? {} : { service }),
        ...(port === undefined ? {} : { port }),
        params,
        headers: valueOf(element, 'config.soapHeaders'),
        responseEncoding: 'xml',
        // Not on the form: kept as stored (the password comes masked and stays as it is).
        ...(initial.wsSecurity === undefined ? {} : { wsSecurity: initial.wsSecurity }),
      };
    },
  };
}
