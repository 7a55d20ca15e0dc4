import { afterAll } from 'vitest';

/**
 * A test file that leaves a server, socket, child process or timer running fails
 * (graphile-worker's leak guard). Checked once per file, after its own teardown.
 */
const LEAKY = new Set([
  'Server',
  'Socket',
  'ChildProcess',
  'Timeout',
  'TCPServerWrap',
  'TCPSocketWrap',
]);

afterAll(async () => {
  // Let closes that were awaited settle their last callbacks.
  await new Promise((resolve) => setImmediate(resolve));
  const active = process.getActiveResourcesInfo().filter((name) => LEAKY.has(name));
  const timers = active.filter((name) => name === 'Timeout').length;
  const others = active.filter((name) => name !== 'Timeout');
  // vitest itself keeps a timer or two alive in a worker; sockets and servers are never its.
  if (others.length > 0 || timers > 4) {
    throw new Error(`test file left resources running: ${active.join(', ')}`);
  }
});
