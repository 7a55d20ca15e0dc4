/** API keys and session tokens: long random strings, stored only as their SHA-256. */
import { hash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'chk_';
export const SESSION_COOKIE = 'callhook_session';
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

export function sha256Hex(value: string): string {
  // One-shot: no Hash object per call (this runs on every API-key request).
  return hash('sha256', value, 'hex');
}

/** A new API key (shown once) with what is stored of it. */
export function newApiKey(): { key: string; hash: string; prefix: string } {
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: sha256Hex(key), prefix: key.slice(0, API_KEY_PREFIX.length + 6) };
}

export function newSessionToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: sha256Hex(token) };
}

/** A readable random password for a generated first admin. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
