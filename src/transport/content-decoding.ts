/**
 * A response body sent with a `Content-Encoding` (gzip, deflate, br), decoded as it arrives and
 * capped on its decoded size: the first `limit` decoded bytes are kept and decoding stops past
 * them, so a small answer that inflates to gigabytes (a "zip bomb") costs one `limit` of memory
 * and the time to inflate that much. An encoding Callhook cannot decode, or data that is not what
 * its encoding says, ends with a reason instead of a body of compressed bytes. Only answers that
 * name an encoding pay for any of this. docs/transport.md, "Compressed answers".
 */
import zlib from 'node:zlib';

/** The codings decoded (RFC 9110 §8.4.1; `x-gzip` is gzip). */
export type Coding = 'gzip' | 'deflate' | 'br';

/**
 * What a `Content-Encoding` header asks for: nothing (absent, empty or `identity`), one coding
 * this module decodes, or why the body cannot be read.
 *
 * ### Example
 * ```ts
 * codingOf('GZIP'); // → 'gzip'
 * codingOf('zstd'); // → { unreadable: 'the body is in Content-Encoding "zstd", which Callhook does not decode (one of gzip, deflate and br only)' }
 * ```
 */
export function codingOf(
  header: string | readonly string[],
): Coding | undefined | { unreadable: string } {
  const written = typeof header === 'string' ? header : header.join(', ');
  const codings = written
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return undefined;
  const [only] = codings;
  if (codings.length === 1) {
    if (only === 'gzip' || only === 'x-gzip') return 'gzip';
    if (only === 'deflate' || only === 'br') return only;
  }
  const which = codings.length === 1 ? 'Content-Encoding' : 'more than one Content-Encoding';
  return {
    unreadable: `the body is in ${which} "${written.trim()}", which Callhook does not decode (one of gzip, deflate and br only)`,
  };
}

/**
 * Why a body could not be decoded as `coding` (what zlib said: `incorrect header check`).
 *
 * ### Example
 * ```ts
 * notValidData('gzip', 'incorrect header check');
 * // → 'the body is not valid gzip data (Content-Encoding: gzip): incorrect header check'
 * ```
 */
export function notValidData(coding: string, detail: string): string {
  return `the body is not valid ${coding} data (Content-Encoding: ${coding}): ${detail}`;
}

export interface DecodedBody {
  /** The first `limit` decoded bytes (what was decoded before an error, if one came). */
  body: Buffer;
  /** The decoded body is longer than `body`, or was cut short by the caller or an error. */
  truncated: boolean;
  /** Why the body could not be decoded (to its end); undefined when it could. */
  error?: string;
}

/**
 * Decodes one body as its chunks arrive. `result` settles once: after `end()` has decoded
 * everything, as soon as more than `limit` decoded bytes have come (the rest is not decoded;
 * further writes are ignored), at `cut()`, or at the first error.
 *
 * ### Example
 * ```ts
 * const decoder = new BodyDecoder('gzip', 64 * 1024);
 * decoder.write(chunk); // as each one arrives
 * decoder.end();
 * const { body, truncated, error } = await decoder.result;
 * ```
 */
export class BodyDecoder {
  readonly result: Promise<DecodedBody>;
  private settle!: (result: DecodedBody) => void;
  private stream: zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress | undefined;
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private done = false;

  constructor(
    private readonly coding: Coding,
    private readonly limit: number,
  ) {
    this.result = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  write(chunk: Buffer): void {
    if (this.done) return;
    (this.stream ??= this.open(chunk)).write(chunk);
  }

  /** The body is complete: decode what is left, then settle. */
  end(): void {
    if (this.done) return;
    // No body at all (a HEAD answer, a 204) is an empty one, whatever the header says.
    if (this.stream === undefined) this.finish(false);
    else this.stream.end();
  }

  /** The body was cut short (not by its sender): decode what came, then settle as truncated. */
  cut(): void {
    if (this.done) return;
    if (this.stream === undefined) this.finish(true);
    else this.stream.flush(() => this.finish(true));
  }

  /** Stops decoding; `result` settles as it stands. */
  destroy(): void {
    this.finish(true);
  }

  private open(first: Buffer) {
    // `deflate` is zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send it raw, which
    // browsers read too: a zlib header is 0x?8, the two bytes a multiple of 31.
    const wrapped =
      first.length < 2 || ((first[0]! & 0x0f) === 8 && first.readUInt16BE(0) % 31 === 0);
    const stream =
      this.coding === 'br'
        ? zlib.createBrotliDecompress()
        : this.coding === 'gzip'
          ? zlib.createGunzip()
          : wrapped
            ? zlib.createInflate()
            : zlib.createInflateRaw();
    stream.on('data', (chunk: Buffer) => this.take(chunk));
    stream.on('end', () => this.finish(false));
    stream.on('error', (error: Error) => {
      this.finish(true, notValidData(this.coding, error.message));
    });
    return stream;
  }

  private take(chunk: Buffer): void {
    if (this.done) return;
    const room = this.limit - this.kept;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (part.length > 0) {
      this.chunks.push(part);
      this.kept += part.length;
    }
    if (chunk.length > room) this.finish(true);
  }

  private finish(truncated: boolean, error?: string): void {
    if (this.done) return;
    this.done = true;
    this.stream?.destroy();
    const only = this.chunks.length === 1 ? this.chunks[0] : undefined;
    this.settle({
      body: only ?? Buffer.concat(this.chunks, this.kept),
      truncated,
      ...(error === undefined ? {} : { error }),
    });
  }
}
