/**
 * Policy-checked connections: every outbound socket Callhook opens goes through here. The
 * hostname is resolved once, every address is judged by the NetworkPolicy, and the socket is
 * opened to a checked address only (never re-resolved), so a name pointing at a private address
 * and DNS rebinding between check and connect are both refused. IP literals (which an undici
 * `connect.lookup` or a Node `lookup` option never sees) are checked the same way.
 *
 * Two faces: `policyConnector()` for undici (HttpClient), and `createPolicyAgents()` for code
 * that speaks Node's `http`/`https` (the SOAP client, through axios).
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { buildConnector } from 'undici';
import type { NetworkPolicy } from './network-policy.js';
import { sharedLookup, type Resolver } from './shared-lookup.js';

export type { Resolver } from './shared-lookup.js';

/** The system resolver, one per process: shared, capped and cached (shared-lookup.ts). */
const systemResolver: Resolver = sharedLookup((hostname) =>
  dns.promises.lookup(hostname, { all: true }),
);

/**
 * A connection the network policy refused. Raised before any packet is sent to the address;
 * HttpClient turns it into a `{kind: 'refused'}` outcome.
 */
export class NetworkPolicyError extends Error {
  readonly code = 'ERR_CALLHOOK_NETWORK_POLICY';
  constructor(
    /** Why, for people: names the host, the address and the refused range. */
    readonly reason: string,
    readonly hostname: string,
  ) {
    super(reason);
    this.name = 'NetworkPolicyError';
  }
}

/**
 * The addresses of `hostname` the policy allows, in resolver order. Throws NetworkPolicyError
 * when none is allowed, and the resolver's error (e.g. `ENOTFOUND`) when the name does not
 * resolve. A name with both allowed and refused addresses is served by its allowed ones only.
 */
export async function resolveAllowed(
  hostname: string,
  policy: NetworkPolicy,
  resolve: Resolver = systemResolver,
): Promise<dns.LookupAddress[]> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  const family = net.isIP(bare);
  if (family !== 0) {
    const decision = policy.check(bare);
    if (!decision.allowed) throw new NetworkPolicyError(decision.reason, hostname);
    return [{ address: bare, family }];
  }
  const addresses = await resolve(bare);
  const allowed: dns.LookupAddress[] = [];
  let firstRefusal: string | undefined;
  for (const entry of addresses) {
    const decision = policy.check(entry.address);
    if (decision.allowed) allowed.push(entry);
    else firstRefusal ??= decision.reason;
  }
  if (allowed.length === 0) {
    const list = addresses.map((entry) => entry.address).join(', ');
    throw new NetworkPolicyError(
      `${bare} resolves to ${list || 'no address'}: ${firstRefusal ?? 'nothing to connect to'}`,
      hostname,
    );
  }
  return allowed;
}

export interface ConnectorOptions {
  /** Time to establish TCP (and TLS) to one address. Default 10 s. */
  connectTimeoutMs?: number;
  /** Replaces the system resolver (tests use it to play a DNS server). */
  resolve?: Resolver;
  /** Extra TLS options, e.g. `ca` for a private CA. Verification stays on. */
  tls?: Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'minVersion'>;
}

/**
 * An undici `connect` function that enforces the policy. Tries the allowed addresses in order
 * until one connects; TLS verifies the certificate against the original hostname (SNI too).
 *
 * ### Examples
 * ```ts
 * const agent = new Agent({ connect: policyConnector(new NetworkPolicy(config.allowNetworks)) });
 * ```
 */
export function policyConnector(
  policy: NetworkPolicy,
  options: ConnectorOptions = {},
): buildConnector.connector {
  const connect = buildConnector({
    timeout: options.connectTimeoutMs ?? 10_000,
    ...options.tls,
    // An https origin is always verified; nothing may switch that off.
    rejectUnauthorized: true,
  });
  return (target, callback) => {
    resolveAllowed(target.hostname, policy, options.resolve).then(
      (addresses) => {
        const servername =
          target.servername ??
          (net.isIP(bare(target.hostname)) ? undefined : bare(target.hostname));
        const attempt = (index: number): void => {
          const address = addresses[index] as dns.LookupAddress;
          connect(
            {
              ...target,
              hostname: address.address,
              ...(servername === undefined ? {} : { servername }),
            },
            (...result) => {
              const [error] = result;
              if (error !== null && index + 1 < addresses.length && retriable(error)) {
                attempt(index + 1);
              } else {
                callback(...result);
              }
            },
          );
        };
        attempt(0);
      },
      (error: Error) => callback(error, null),
    );
  };
}

function bare(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '');
}

/** Errors after which the next address of the same name may still answer. */
function retriable(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'EADDRNOTAVAIL' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  );
}

/** Hands Node's socket code the checked addresses instead of asking DNS again. */
function pinnedLookup(addresses: readonly dns.LookupAddress[]): net.LookupFunction {
  return (_hostname, lookupOptions, callback) => {
    const wanted =
      lookupOptions.family === 4 || lookupOptions.family === 6
        ? addresses.filter((entry) => entry.family === lookupOptions.family)
        : addresses;
    const first = wanted[0];
    if (first === undefined) {
      const error: NodeJS.ErrnoException = new Error(
        `no allowed IPv${String(lookupOptions.family)} address`,
      );
      error.code = 'ENOTFOUND';
      callback(error, '', 0);
    } else if (lookupOptions.all === true) {
      callback(null, [...wanted]);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

export interface PolicyAgents {
  /** For `http:` URLs: pass as axios `httpAgent`, or as `agent` to `http.request`. */
  httpAgent: http.Agent;
  /** For `https:` URLs: pass as axios `httpsAgent`, or as `agent` to `https.request`. */
  httpsAgent: https.Agent;
}

export interface PolicyAgentOptions {
  /** Keep idle sockets for reuse (default true). */
  keepAlive?: boolean;
  resolve?: Resolver;
  tls?: Pick<https.AgentOptions, 'ca' | 'cert' | 'key' | 'minVersion'>;
}

/**
 * A Node `http.Agent` / `https.Agent` pair whose every new socket is policy-checked, for
 * libraries built on Node's http modules (the `soap` package, through axios). Redirects that
 * such a library follows open new sockets through the same agents, so each hop is checked.
 * A refused connection fails the request with a NetworkPolicyError
 * (`code: 'ERR_CALLHOOK_NETWORK_POLICY'`, `reason`).
 *
 * Give axios `proxy: false` too: a proxy from the environment would be the only address checked.
 *
 * ### Examples
 * ```ts
 * const { httpAgent, httpsAgent } = createPolicyAgents(new NetworkPolicy(config.allowNetworks));
 * await soap.createClientAsync(wsdlUrl, { wsdl_options: { httpAgent, httpsAgent, proxy: false } });
 * http.get('http://example.com/', { agent: httpAgent }, onResponse);
 * ```
 */
export function createPolicyAgents(
  policy: NetworkPolicy,
  options: PolicyAgentOptions = {},
): PolicyAgents {
  const keepAlive = options.keepAlive ?? true;
  const resolve = options.resolve;

  class PolicyHttpAgent extends http.Agent {
    override createConnection(
      request: http.ClientRequestArgs,
      callback?: (error: Error | null, socket: import('node:stream').Duplex) => void,
    ): undefined {
      checked(request, (pinned) => super.createConnection(pinned), callback);
      return undefined;
    }
  }

  class PolicyHttpsAgent extends https.Agent {
    override createConnection(
      request: https.RequestOptions,
      callback?: (error: Error | null, socket: import('node:stream').Duplex) => void,
    ): undefined {
      checked(request, (pinned) => super.createConnection(pinned), callback);
      return undefined;
    }
  }

  /** Resolves and checks, then lets Node open the socket to the checked addresses only. */
  function checked<R extends http.ClientRequestArgs>(
    request: R,
    open: (pinned: R) => import('node:stream').Duplex | null | undefined,
    callback: ((error: Error | null, socket: import('node:stream').Duplex) => void) | undefined,
  ): void {
    const hostname = request.hostname ?? request.host ?? 'localhost';
    resolveAllowed(hostname, policy, resolve).then(
      (addresses) => {
        let socket: import('node:stream').Duplex | null | undefined;
        try {
          socket = open({ ...request, lookup: pinnedLookup(addresses) });
        } catch (error) {
          callback?.(error as Error, undefined as never);
          return;
        }
        if (socket) callback?.(null, socket);
      },
      (error: Error) => callback?.(error, undefined as never),
    );
  }

  return {
    httpAgent: new PolicyHttpAgent({ keepAlive }),
    httpsAgent: new PolicyHttpsAgent({ keepAlive, ...options.tls, rejectUnauthorized: true }),
  };
}
