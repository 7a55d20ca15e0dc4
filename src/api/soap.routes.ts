/**
 * SOAP helpers for the console (permission `integration`): what a WSDL offers, so the form can
 * offer a dropdown of operations and a parameter table, and the "refresh WSDL" action.
 * Both read through the SoapClient's WSDL cache; neither sends a SOAP request.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import type { DescribeResult } from '../transport/soap-client.js';

/** What the routes need from the SOAP client (a SoapClient in production). */
export interface WsdlDescriber {
  describe(wsdlUrl: string): Promise<DescribeResult>;
  refresh(wsdlUrl: string): Promise<DescribeResult>;
}

const access = { access: 'integration' } as const;
const tags = ['soap'];

const WsdlBody = Type.Object(
  {
    wsdlUrl: Type.String({
      minLength: 1,
      maxLength: 8192,
      description:
        'Absolute http(s) URL of the WSDL, e.g. https://erp.example/ws/Tickets.asmx?WSDL',
    }),
  },
  { additionalProperties: false },
);

const Param = Type.Object(
  {
    name: Type.String(),
    path: Type.String({ description: 'Dotted name to use in config.params; `[]` marks a list' }),
    type: Type.String(),
    required: Type.Boolean(),
    repeated: Type.Boolean(),
    enum: Type.Optional(Type.Array(Type.String())),
    recursive: Type.Optional(Type.Boolean()),
  },
  {
    // `children` (the same shape, recursively) is passed through as it is.
    additionalProperties: true,
    description: 'An input element; complex ones have `children` of this same shape',
  },
);

const Operation = Type.Object({
  name: Type.String(),
  soapAction: Type.String(),
  style: Type.Union([Type.Literal('document'), Type.Literal('rpc')]),
  use: Type.Union([Type.Literal('literal'), Type.Literal('encoded')]),
  parameterStyle: Type.Union([Type.Literal('wrapped'), Type.Literal('bare'), Type.Literal('rpc')]),
  inputElement: Type.Optional(Type.String()),
  simpleInput: Type.Optional(Type.Boolean()),
  hasOutput: Type.Boolean(),
  params: Type.Array(Param),
});

const Description = Type.Object({
  wsdlUrl: Type.String(),
  targetNamespace: Type.String(),
  services: Type.Array(
    Type.Object({
      name: Type.String(),
      ports: Type.Array(
        Type.Object({
          name: Type.String(),
          binding: Type.String(),
          address: Type.String(),
          soapVersion: Type.Union([Type.Literal('1.1'), Type.Literal('1.2')]),
          style: Type.Union([Type.Literal('document'), Type.Literal('rpc')]),
          operations: Type.Array(Operation),
        }),
      ),
    }),
  ),
  documents: Type.Array(Type.String(), {
    description: 'The WSDL, then every import and include read',
  }),
  fetchedAt: Type.String(),
  expiresAt: Type.String({ description: 'When the cached WSDL will be fetched again' }),
});

export const soapRoutes: FastifyPluginAsyncTypebox<{ soap: WsdlDescriber }> = async (
  app,
  { soap },
) => {
  app.post(
    '/api/v1/soap/describe',
    {
      config: access,
      schema: {
        tags,
        summary: 'Services, ports, operations and input parameters of a WSDL (cached)',
        body: WsdlBody,
        response: { 200: Description },
      },
    },
    async (request) => answer(await soap.describe(request.body.wsdlUrl)),
  );

  app.post(
    '/api/v1/soap/refresh',
    {
      config: access,
      schema: {
        tags,
        summary: 'Fetch the WSDL again now and answer its new description',
        body: WsdlBody,
        response: { 200: Description },
      },
    },
    async (request) => answer(await soap.refresh(request.body.wsdlUrl)),
  );
};

/** A WSDL that cannot be used is the `wsdlUrl` field's problem: 400, naming the document. */
function answer(result: DescribeResult) {
  if (result.ok) return result.description;
  const { failure } = result;
  const where =
    failure.documentUrl === failure.wsdlUrl
      ? failure.wsdlUrl
      : `${failure.documentUrl}, imported by ${failure.wsdlUrl}`;
  throw new AppError('VALIDATION_FAILED', `The WSDL cannot be used: ${where}: ${failure.message}`, [
    {
      field: 'body.wsdlUrl',
      message: failure.message,
      kind: failure.kind,
      documentUrl: failure.documentUrl,
      retryable: failure.retryable,
    },
  ]);
}
