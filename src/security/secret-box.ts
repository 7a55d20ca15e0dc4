/**
 * Secrets at rest (SPEC §7): AES-256-GCM with the 32-byte key of CALLHOOK_SECRET_KEY, or, in the
 * embedded default, a key generated once into `<dataDir>/secret.key`. A sealed value is a
 * self-describing string, `enc:v1:<base64url(nonce ‖ ciphertext ‖ tag)>`, so readers can tell it
 * from plain text and a later format can get `v2`. docs/security.md describes the whole scheme.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StartupError } from '../startup-error.js';

/** How every sealed value starts (then base64url: nonce, ciphertext, tag). */
export const SEALED_PREFIX = 'enc:v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** What every API read, log and UI shows in place of a secret value (same as domain's MASK). */
export const MASK = '••••';

/** A sealed value that cannot be opened: broken infrastructure (wrong key, damaged data). */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/** True for a value produced by `SecretBox.seal` (of any key). */
export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

/**
 * Seals and opens secret strings (it fits `SecretSealer` of src/domain/integration-secrets.ts). Each seal uses a fresh random nonce, so sealing the same
 * value twice gives two different strings.
 *
 * ### Examples
 * ```ts
 * const box = new SecretBox(key);
 * const stored = box.seal('Bearer abc'); // 'enc:v1:…'
 * box.open(stored); // 'Bearer abc'
 * ```
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) {
      throw new SecretBoxError(`the secret key must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    this.key = Buffer.from(key);
  }

  seal(plain: string): string {
    const nonce = crypto.randomBytes(NONCE_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, nonce);
    const sealed = Buffer.concat([
      nonce,
      cipher.update(plain, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return SEALED_PREFIX + sealed.toString('base64url');
  }

  /** Opens a sealed value; throws SecretBoxError for plain text, damage or another key. */
  open(sealed: string): string {
    if (!isSealed(sealed)) {
      throw new SecretBoxError(`value is not sealed (it does not start with "${SEALED_PREFIX}")`);
    }
    const bytes = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
    if (bytes.length < NONCE_BYTES + TAG_BYTES) {
      throw new SecretBoxError('sealed value is too short: it was cut or damaged');
    }
    const decipher = crypto.createDecipheriv(
      'aes-256-gcm',
      this.key,
      bytes.subarray(0, NONCE_BYTES),
    );
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretBoxError(
        'sealed value does not open with this key: it was sealed with another CALLHOOK_SECRET_KEY, or damaged',
      );
    }
  }
}

/** The mask in place of a value; an empty value stays empty, so "not set" remains visible. */
export function maskSecret(value: string | undefined): string {
  return value === undefined || value === '' ? '' : MASK;
}

/**
 * Replaces every occurrence of each secret in `text` by the mask, for attempt logs and error
 * messages that may quote a request. Longer secrets first, so one secret that contains another
 * is masked whole. Secrets shorter than 4 characters are ignored: masking them would mangle
 * ordinary text and hide nothing.
 */
export function maskIn(text: string, secrets: readonly string[]): string {
  return maskOrdered(text, maskingOrder(secrets));
}

/** `secrets` as `maskOrdered` takes them: distinct, at least 4 characters, longest first. */
export function maskingOrder(secrets: readonly string[]): string[] {
  return [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

/** `maskIn` with the secrets already in `maskingOrder` (prepared once, used per request). */
export function maskOrdered(text: string, ordered: readonly string[]): string {
  let masked = text;
  for (const secret of ordered) {
    if (masked.includes(secret)) masked = masked.split(secret).join(MASK);
  }
  return masked;
}

export interface SecretKeySettings {
  /** `config.secretKey`: the key from CALLHOOK_SECRET_KEY, if set. */
  secretKey: Buffer | undefined;
  /** `config.dataDir`: where a generated key is kept. */
  dataDir: string;
}

export interface LoadedSecretKey {
  key: Buffer;
  /** `config`: CALLHOOK_SECRET_KEY; `generated`: created now; `file`: read from the data dir. */
  source: 'config' | 'generated' | 'file';
  /** The key file, when the key lives in one. */
  file?: string;
  /** Something to tell the operator (e.g. a key file others can read); not fatal. */
  warning?: string;
}

/** Name of the generated key file inside the data dir. */
export const SECRET_KEY_FILE = 'secret.key';

/**
 * The key for secrets at rest: CALLHOOK_SECRET_KEY when set, else the key file of the data dir,
 * created (0600, 64 hex digits) on the first start. Production mode never gets here without a
 * configured key (config.ts refuses to start). Throws StartupError naming the file when it exists
 * but does not hold a key or cannot be read, or cannot be written.
 *
 * ### Examples
 * ```ts
 * const { key } = loadSecretKey(config); // config has secretKey and dataDir
 * const box = new SecretBox(key);
 * ```
 */
export function loadSecretKey(settings: SecretKeySettings): LoadedSecretKey {
  if (settings.secretKey !== undefined) return { key: settings.secretKey, source: 'config' };
  const file = path.join(settings.dataDir, SECRET_KEY_FILE);
  const existing = readKeyFile(file);
  if (existing !== undefined) return existing;
  const fresh = crypto.randomBytes(KEY_BYTES);
  // The key is written whole into a file of this process's own, then linked to its name: a process
  // starting at the same moment finds no key file or a whole one, never one still being written,
  // and a crash half-way leaves a stray temporary file, not an empty key file that stops the next
  // start. `link` fails when the name exists, so of two processes starting at once one key wins
  // and the other reads it.
  const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
    writeDurably(temporary, `${fresh.toString('hex')}\n`);
    fs.linkSync(temporary, file);
    flushFolder(settings.dataDir);
    return { key: fresh, source: 'generated', file };
  } catch (error) {
    const raced =
      (error as NodeJS.ErrnoException).code === 'EEXIST' ? readKeyFile(file) : undefined;
    if (raced !== undefined) return raced;
    throw new StartupError(
      `cannot write the secret key file ${file} (CALLHOOK_DATA_DIR): ${reason(error)}`,
      { cause: error },
    );
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/** Flushes a folder's entries, so a new name in it outlives a power cut. */
function flushFolder(folder: string): void {
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a new file (mode 0600) and flushes it to the disk before returning. */
function writeDurably(file: string, text: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Checks, writing nothing, what `loadSecretKey` will need: a key file that is there holds a key,
 * and without one, the data dir can be made or written into. Start-up runs it before it makes
 * the data dir, the database or the first admin, so a bad key file stops it with nothing made.
 * Throws StartupError naming the file or folder.
 */
export function checkSecretKeyFile(settings: SecretKeySettings): void {
  if (settings.secretKey !== undefined) return;
  if (readKeyFile(path.join(settings.dataDir, SECRET_KEY_FILE)) !== undefined) return;
  // No key file yet: one is generated into the data dir, made if missing. The nearest folder that
  // exists on the way must be a folder this process may write in.
  for (let at = settings.dataDir; ; at = path.dirname(at)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(at);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && path.dirname(at) !== at) continue;
      throw dataDirProblem(settings.dataDir, reason(error), error);
    }
    if (!stat.isDirectory()) throw dataDirProblem(settings.dataDir, `${at} is not a folder`);
    try {
      fs.accessSync(at, fs.constants.W_OK | fs.constants.X_OK);
    } catch (error) {
      throw dataDirProblem(settings.dataDir, `${at} cannot be written: ${reason(error)}`, error);
    }
    return;
  }
}

/** The key in `file`; undefined when there is no such file. */
function readKeyFile(file: string): LoadedSecretKey | undefined {
  try {
    fs.lstatSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  }
  let text: string;
  let mode: number;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
    mode = fs.statSync(file).mode & 0o777;
  } catch (error) {
    throw new StartupError(
      `cannot read the secret key file ${file} (CALLHOOK_DATA_DIR): ${reason(error)}`,
      { cause: error },
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new StartupError(
      `${file} does not hold a secret key (64 hex digits); restore it from a backup, ` +
        'or set CALLHOOK_SECRET_KEY to the key the stored secrets were sealed with',
    );
  }
  const loaded: LoadedSecretKey = { key: Buffer.from(text, 'hex'), source: 'file', file };
  if ((mode & 0o077) !== 0) {
    loaded.warning = `${file} can be read by other users (mode ${mode.toString(8)}); run chmod 600 on it`;
  }
  return loaded;
}

function dataDirProblem(dataDir: string, why: string, cause?: unknown): StartupError {
  return new StartupError(
    `cannot use the data dir ${dataDir} for the secret key file (CALLHOOK_DATA_DIR): ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));
