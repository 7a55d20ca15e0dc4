/** What only the token language (and, for SOAP, the WSDL) can tell about an integration. */
import type { ErrorDetail } from '../errors.js';
import type { IntegrationChecker } from './integrations.routes.js';

export const checkIntegration: IntegrationChecker = (): ErrorDetail[] => [];
