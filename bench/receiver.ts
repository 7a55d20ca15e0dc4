/** A keep-alive receiver in a child process (so it does not share the client's event loop). */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const RECEIVER = `
const http = require('node:http');
const body = Buffer.from(JSON.stringify({ ok: true, id: 'crm-123', received: true }));
let count = 0;
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    if (req.url === '/__count') { res.end(String(count)); return; }
    count += 1;
    const delay = Number(process.env.RECEIVER_DELAY_MS || 0);
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    };
    if (delay > 0) setTimeout(answer, delay); else answer();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface Receiver {
  origin: string;
  child: ChildProcess;
  stop(): void;
}

export async function startReceiver(options: { delayMs?: number } = {}): Promise<Receiver> {
  const child = spawn(process.execPath, ['-e', RECEIVER], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, RECEIVER_DELAY_MS: String(options.delayMs ?? 0) },
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return {
    origin: `http://127.0.0.1:${chunk.toString().trim()}`,
    child,
    stop() {
      child.stdin?.end();
      child.kill();
    },
  };
}
