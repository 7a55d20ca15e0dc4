import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MASK,
  SECRET_KEY_FILE,
  SecretBox,
  SecretBoxError,
  isSealed,
  loadSecretKey,
  maskIn,
  maskSecret,
} from '../../src/security/secret-box.js';

const key = crypto.randomBytes(32);
const box = new SecretBox(key);

describe('SecretBox seals secrets with AES-256-GCM', () => {
  it.each([
    'Bearer abc.def',
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    '',
    'pässwörd ✓ 密码',
    'x'.repeat(10_000),
  ])('round-trips %j', (plain) => {
    const sealed = box.seal(plain);
    expect(sealed).toMatch(/^enc:v1:[A-Za-z0-9_-]+$/);
    expect(isSealed(sealed)).toBe(true);
    if (plain.length > 3) expect(sealed).not.toContain(plain);
    expect(box.open(sealed)).toBe(plain);
  });

  it('gives a different sealed string each time (fresh nonce)', () => {
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('tells sealed values from plain ones', () => {
    expect(isSealed('Bearer abc')).toBe(false);
    expect(isSealed(MASK)).toBe(false);
  });

  it('refuses to open with another key, naming the likely cause', () => {
    const sealed = box.seal('secret');
    expect(() => new SecretBox(crypto.randomBytes(32)).open(sealed)).toThrow(
      new SecretBoxError(
        'sealed value does not open with this key: it was sealed with another CALLHOOK_SECRET_KEY, or damaged',
      ),
    );
  });

  it('detects tampering', () => {
    const sealed = box.seal('amount=10');
    const bytes = Buffer.from(sealed.slice('enc:v1:'.length), 'base64url');
    bytes[14] = (bytes[14] ?? 0) ^ 1;
    expect(() => box.open(`enc:v1:${bytes.toString('base64url')}`)).toThrow(SecretBoxError);
    expect(() => box.open('enc:v1:AAAA')).toThrow('sealed value is too short');
  });

  it('refuses to open plain text', () => {
    expect(() => box.open('Bearer abc')).toThrow(
      'value is not sealed (it does not start with "enc:v1:")',
    );
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new SecretBox(Buffer.alloc(16))).toThrow(
      'the secret key must be 32 bytes, got 16',
    );
  });
});

describe('masking', () => {
  it('masks a value, and leaves "not set" visible', () => {
    expect(MASK).toBe('••••');
    expect(maskSecret('Bearer abc')).toBe('••••');
    expect(maskSecret('')).toBe('');
    expect(maskSecret(undefined)).toBe('');
  });

  it('masks every occurrence of each secret in a text, longest first', () => {
    const text = 'GET /x?token=abcd1234 Authorization: Bearer abcd1234xyz; again abcd1234 and ab';
    expect(maskIn(text, ['abcd1234', 'Bearer abcd1234xyz', 'ab'])).toBe(
      'GET /x?token=•••• Authorization: ••••; again •••• and ab',
    );
    expect(maskIn('nothing here', [])).toBe('nothing here');
  });
});

describe('loadSecretKey', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-key-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uses CALLHOOK_SECRET_KEY when set, writing no file', () => {
    const dataDir = tempDir();
    expect(loadSecretKey({ secretKey: key, dataDir })).toEqual({ key, source: 'config' });
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('generates a key into the data dir (0600) on the first start and reads it afterwards', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const first = loadSecretKey({ secretKey: undefined, dataDir });
    const file = path.join(dataDir, SECRET_KEY_FILE);
    expect(first).toMatchObject({ source: 'generated', file });
    expect(first.key.length).toBe(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${first.key.toString('hex')}\n`);

    const second = loadSecretKey({ secretKey: undefined, dataDir });
    expect(second).toEqual({ key: first.key, source: 'file', file });
    // What was sealed before a restart opens after it.
    expect(new SecretBox(second.key).open(new SecretBox(first.key).seal('kept'))).toBe('kept');
  });

  it('refuses a damaged key file, naming it', () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, SECRET_KEY_FILE);
    fs.writeFileSync(file, 'not a key\n', { mode: 0o600 });
    expect(() => loadSecretKey({ secretKey: undefined, dataDir })).toThrow(
      `${file} does not hold a secret key (64 hex digits)`,
    );
  });

  it('warns when others can read the key file', () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, SECRET_KEY_FILE);
    fs.writeFileSync(file, `${key.toString('hex')}\n`);
    fs.chmodSync(file, 0o644);
    const loaded = loadSecretKey({ secretKey: undefined, dataDir });
    expect(loaded.key).toEqual(key);
    expect(loaded.warning).toBe(
      `${file} can be read by other users (mode 644); run chmod 600 on it`,
    );
  });
});

describe('loadSecretKey in processes that start at once', () => {
  // Threads stand in for processes: each runs the built loadSecretKey on the same fresh data dirs,
  // released together by a barrier per dir, so the losers read while the winner writes.
  it('gives every starter the one key, never a half-written file', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-key-race-'));
    const starters = 4;
    const rounds = 300;
    const barrier = new Int32Array(new SharedArrayBuffer(4 * rounds));
    const moduleUrl = new URL('../../dist/security/secret-box.js', import.meta.url).href;
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      const path = require('node:path');
      import(workerData.moduleUrl).then(({ loadSecretKey }) => {
        const seen = [];
        for (let round = 0; round < workerData.rounds; round++) {
          const arrived = Atomics.add(workerData.barrier, round, 1) + 1;
          if (arrived === workerData.starters) Atomics.notify(workerData.barrier, round);
          for (let now = arrived; now < workerData.starters; ) {
            Atomics.wait(workerData.barrier, round, now, 10);
            now = Atomics.load(workerData.barrier, round);
          }
          try {
            const dataDir = path.join(workerData.root, String(round));
            seen.push(loadSecretKey({ secretKey: undefined, dataDir }).key.toString('hex'));
          } catch (error) {
            seen.push('error: ' + error.message);
          }
        }
        parentPort.postMessage(seen);
      });`;
    try {
      const results = await Promise.all(
        Array.from(
          { length: starters },
          () =>
            new Promise<string[]>((resolve, reject) => {
              const worker = new Worker(source, {
                eval: true,
                workerData: { moduleUrl, rounds, starters, barrier, root },
              });
              worker.once('message', resolve);
              worker.once('error', reject);
            }),
        ),
      );
      const problems: string[] = [];
      for (let round = 0; round < rounds; round++) {
        const keys = new Set(results.map((seen) => seen[round]));
        const onDisk = fs.readFileSync(path.join(root, String(round), SECRET_KEY_FILE), 'utf8');
        if (keys.size !== 1 || !keys.has(onDisk.trim())) {
          problems.push(`round ${round}: ${[...keys].join(' | ')}`);
        }
        expect(fs.readdirSync(path.join(root, String(round)))).toEqual([SECRET_KEY_FILE]);
      }
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
