/**
 * What only the token language and, for SOAP, the WSDL can tell about an integration at save
 * time: every template problem (field, line, column) and, for SOAP, that the operation exists and
 * the parameter names fit its input.
 */
import type { ErrorDetail } from '../errors.js';
import type { IntegrationChecker } from './integrations.routes.js';
import type { SoapClient } from '../transport/soap-client.js';
import { IntegrationRunner } from '../delivery/integration-runner.js';
import type { HttpConfig, SoapConfig } from '../domain/integration.js';
import type { CompileFilterOptions } from '../template/filters.js';

export function createIntegrationChecker(
  soap: Pick<SoapClient, 'checkConfig'>,
  templates: CompileFilterOptions = {},
): IntegrationChecker {
  return async (type, config) => {
    const typed =
      type === 'http'
        ? { type, config: config as HttpConfig }
        : { type, config: config as SoapConfig };
    const problems: ErrorDetail[] = IntegrationRunner.check(typed, templates).map((p) => ({
      ...p,
    }));
    if (typed.type === 'soap')
      problems.push(...(await soap.checkConfig(typed.config)).map((p) => ({ ...p })));
    return problems;
  };
}
