/**
 * The one place the `soap` package runs an operation: a Client built per call over the cached
 * WSDL, SOAPAction and WS-Security set from the integration, the HTTP exchange going through
 * Callhook's recording client. Never throws: an error comes back beside the result.
 */
import { Client, WSSecurity } from 'soap';
import type { SelectedOperation, SoapProblem } from '../domain/soap.js';
import type { SoapArg } from '../domain/soap-params.js';
import type { SoapCallRequest } from './soap-client.js';
import type { RecordingHttpClient } from './soap-http.js';
import type { LoadedWsdl } from './wsdl-cache.js';

/** A call checked against its WSDL, ready to run. */
export interface Prepared {
  loaded: LoadedWsdl;
  selected: SelectedOperation;
  args: SoapArg | null;
  headers: Record<string, string>;
  warnings: SoapProblem[];
}

type SoapMethod = (
  args: unknown,
  callback: (error: unknown, result: unknown) => void,
  options: Record<string, unknown>,
  extraHeaders: Record<string, string>,
) => void;

/** Builds a per-call Client over the cached WSDL and runs the operation on it. */
export function invoke(
  prepared: Prepared,
  request: SoapCallRequest,
  http: RecordingHttpClient,
  exoptions: Record<string, unknown>,
): Promise<{ error: unknown; result: unknown }> {
  const { service, port, operation } = prepared.selected;
  return new Promise((resolve) => {
    try {
      // The Client writes the SOAP version into the shared WSDL's options; building the
      // envelope right after, in the same tick, keeps concurrent calls from mixing versions.
      const client = new Client(prepared.loaded.wsdl, request.endpoint, {
        httpClient: http,
        forceSoap12Headers: port.soapVersion === '1.2',
      });
      if (operation.soapAction !== '') client.setSOAPAction(operation.soapAction);
      if (request.wsSecurity !== undefined) {
        const { username, password, passwordType } = request.wsSecurity;
        client.setSecurity(
          new WSSecurity(username, password, { passwordType: passwordType ?? 'PasswordText' }),
        );
      }
      const ports = (
        client as unknown as Record<string, Record<string, Record<string, SoapMethod>>>
      )[service.name];
      const method = ports?.[port.name]?.[operation.name];
      if (method === undefined) {
        resolve({
          error: new Error(`operation ${operation.name} is missing from the parsed WSDL`),
          result: null,
        });
        return;
      }
      method(
        prepared.args,
        (error, result) => resolve({ error: error ?? null, result }),
        exoptions,
        prepared.headers,
      );
    } catch (error) {
      resolve({ error, result: null });
    }
  });
}
