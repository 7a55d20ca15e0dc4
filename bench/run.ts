/**
 * `npm run bench [name…]`: runs every `bench/*.bench.ts` (or the named ones) and writes each
 * result into its own section of docs/benchmarks.md, with the machine and the command.
 *
 * A bench file exports `default async function (): Promise<BenchResult>`. With more than one to
 * run, each runs in a process of its own, as `npm run bench -- <name>` would: one bench's heap,
 * JIT state and RSS are not the next one's (the queue bench reports RSS).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchResult {
  /** Section heading. */
  title: string;
  /** Markdown body: a table of medians and ratios, and what the targets are. */
  markdown: string;
  /** Only some of the bench's parts ran: printed, not recorded in docs/benchmarks.md. */
  partial?: boolean;
}

const DOC = path.resolve('docs/benchmarks.md');
const HEADER = `# Benchmarks

Run with \`npm run bench\` (all) or \`npm run bench -- <name>\` (one file of \`bench/\`). Each
section below is rewritten by its own benchmark and says when and on what it ran. Figures are
medians of one run; the machine is shared and noisy, so ratios measured in the same run matter
more than absolute numbers.
`;

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const memory = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${os.cpus().length} × ${cpu}, ${memory} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

function writeSection(name: string, result: BenchResult, command: string): void {
  const current = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : HEADER;
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = [
    begin,
    `## ${result.title}`,
    '',
    `_${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · \`${command}\` · ${machine()}_`,
    '',
    result.markdown.trim(),
    end,
  ].join('\n');
  const pattern = new RegExp(`${begin}[\\s\\S]*?${end}`);
  const next = pattern.test(current)
    ? current.replace(pattern, section)
    : `${current.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(DOC, next);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const files = fs
    .readdirSync('bench')
    .filter((file) => file.endsWith('.bench.ts'))
    .map((file) => file.replace(/\.bench\.ts$/, ''))
    .filter((name) => wanted.length === 0 || wanted.includes(name))
    .sort();
  if (files.length === 0) throw new Error(`no benchmark named ${wanted.join(', ')} in bench/`);
  if (files.length > 1) {
    for (const name of files) {
      // The same node, with the same loader flags (tsx), on this script with one name.
      const run = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, name], {
        stdio: 'inherit',
      });
      if (run.status !== 0) {
        const why = run.error?.message ?? run.signal ?? `exit ${String(run.status)}`;
        throw new Error(`bench ${name} failed (${why})`);
      }
    }
    return;
  }
  const name = files[0]!;
  process.stdout.write(`bench ${name}…\n`);
  const module = (await import(pathToFileURL(path.resolve('bench', `${name}.bench.ts`)).href)) as {
    default: () => Promise<BenchResult>;
  };
  const result = await module.default();
  // A trial run (BENCH_DRY=1, or a bench that ran only some of its parts) is printed, not recorded.
  if (process.env['BENCH_DRY'] !== '1' && result.partial !== true)
    writeSection(name, result, `npm run bench -- ${name}`);
  process.stdout.write(`${result.markdown.trim()}\n\n`);
}

await main();
