import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { LoginThrottle } from '../../src/auth/login-throttle.js';

describe('sign-in, sessions and secrets', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const login = (email: string, password: string, headers: Record<string, string> = {}) =>
    t!.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password },
      headers,
    });

  it('signs in with a session cookie (HttpOnly, SameSite=Lax) and signs out', async () => {
    t = await createTestApp('sqlite');
    const alice = await t.user({ grants: ['user_admin'] });
    const res = await login(alice.email.toUpperCase(), alice.password);
    expect(res.statusCode).toBe(200);
    const cookie = res.cookies.find((c) => c.name === 'callhook_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookie.secure).toBeFalsy();
    const headers = { cookie: `callhook_session=${cookie.value}` };
    expect((await t.app.inject({ url: '/api/v1/me', headers })).json().email).toBe(alice.email);

    const out = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { ...headers, origin: 'http://localhost:80' },
    });
    expect(out.statusCode).toBe(204);
    expect((await t.app.inject({ url: '/api/v1/me', headers })).statusCode).toBe(401);
  });

  it('marks the cookie Secure behind TLS', async () => {
    t = await createTestApp('sqlite');
    const alice = await t.user();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: alice.email, password: alice.password },
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-proto': 'https' },
    });
    // Without a trusted proxy the protocol stays http; TLS is seen only when the socket is TLS.
    expect(res.cookies[0]?.secure).toBeFalsy();
  });

  it('marks the cookie Secure when a trusted proxy says the request came over TLS', async () => {
    t = await createTestApp('sqlite', { env: { CALLHOOK_TRUST_PROXY: '127.0.0.1' } });
    const alice = await t.user();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: alice.email, password: alice.password },
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(res.cookies[0]?.secure).toBe(true);
  });

  it('refuses a cookie-signed change that does not come from the console origin', async () => {
    t = await createTestApp('sqlite');
    const alice = await t.user({ grants: ['user_admin'] });
    const cookie = (await login(alice.email, alice.password)).cookies[0]!;
    const base = { cookie: `callhook_session=${cookie.value}` };
    const create = (headers: Record<string, string>) =>
      t!.app.inject({
        method: 'POST',
        url: '/api/v1/roles',
        headers,
        payload: { name: `r${Math.random()}` },
      });
    expect((await create(base)).json().error.code).toBe('CSRF_REJECTED');
    expect((await create({ ...base, origin: 'https://evil.example' })).statusCode).toBe(403);
    expect((await create({ ...base, origin: 'http://localhost:80' })).statusCode).toBe(201);
    expect((await create({ ...base, referer: 'http://localhost:80/roles' })).statusCode).toBe(201);
    // Reads need no origin, and API keys are not subject to the check.
    expect((await t.app.inject({ url: '/api/v1/roles', headers: base })).statusCode).toBe(200);
    expect((await create(alice.headers)).statusCode).toBe(201);
  });

  it("takes the console's origin from a trusted proxy's X-Forwarded-Host/Proto, never from a client's", async () => {
    t = await createTestApp('sqlite', { env: { CALLHOOK_TRUST_PROXY: '127.0.0.1' } });
    const alice = await t.user({ grants: ['user_admin'] });
    const cookie = (await login(alice.email, alice.password)).cookies[0]!;
    const base = { cookie: `callhook_session=${cookie.value}` };
    const create = (headers: Record<string, string>, remoteAddress: string) =>
      t!.app.inject({
        method: 'POST',
        url: '/api/v1/roles',
        headers: { ...base, ...headers },
        remoteAddress,
        payload: { name: `r${Math.random()}` },
      });
    // The proxy rewrites Host to the upstream address and says what the browser used.
    const proxied = {
      host: '127.0.0.1:8080',
      'x-forwarded-host': 'callhook.example.com',
      'x-forwarded-proto': 'https',
    };
    const fromProxy = (origin: string) => create({ ...proxied, origin }, '127.0.0.1');
    expect((await fromProxy('https://callhook.example.com')).statusCode).toBe(201);
    expect((await fromProxy('https://callhook.example.com:443')).statusCode).toBe(201);
    expect((await fromProxy('http://callhook.example.com')).statusCode).toBe(403);
    expect((await fromProxy('https://evil.example')).statusCode).toBe(403);
    // A client that is not the trusted proxy cannot name the host it is checked against.
    const forged = await create(
      { host: 'localhost:80', 'x-forwarded-host': 'evil.example', origin: 'https://evil.example' },
      '10.9.9.9',
    );
    expect(forged.json().error.code).toBe('CSRF_REJECTED');
    expect(
      (
        await create(
          { 'x-forwarded-host': 'evil.example', origin: 'http://localhost:80' },
          '10.9.9.9',
        )
      ).statusCode,
    ).toBe(201);
  });

  it('slows password guessing per account and per address, and lets the owner in after the pause', async () => {
    let now = 1_000_000;
    t = await createTestApp('sqlite', {
      deps: { loginThrottle: new LoginThrottle({ now: () => now }) },
    });
    const alice = await t.user();
    for (let i = 0; i < 5; i += 1)
      expect((await login(alice.email, 'wrong-password')).statusCode).toBe(401);
    const throttled = await login(alice.email, alice.password);
    expect(throttled.statusCode).toBe(429);
    expect(throttled.headers['retry-after']).toBe('1');
    // The address is throttled too: another account from the same address waits as well.
    const bob = await t.user();
    expect((await login(bob.email, bob.password)).statusCode).toBe(429);
    // …but not from another address.
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: bob.email, password: bob.password },
      remoteAddress: '10.9.9.9',
    });
    expect(elsewhere.statusCode).toBe(200);
    now += 1_000;
    expect((await login(alice.email, alice.password)).statusCode).toBe(200);
  });

  it('keeps an address throttled across accounts though it signs into its own between guesses', async () => {
    t = await createTestApp('sqlite');
    const mallory = await t.user();
    const victims = await Promise.all([t.user(), t.user(), t.user()]);
    // Two guesses at each victim, each followed by a sign-in to mallory's own account: the
    // successes do not reset the address's count.
    const codes: number[] = [];
    for (const victim of victims) {
      for (let i = 0; i < 2; i += 1) codes.push((await login(victim.email, 'guess')).statusCode);
      codes.push((await login(mallory.email, mallory.password)).statusCode);
    }
    expect(codes.slice(0, 6)).toEqual([401, 401, 200, 401, 401, 200]);
    expect(codes.slice(6)).toContain(429);
    // Many successful sign-ins from one address (an office behind NAT) are never throttled.
    const office = await t.user();
    for (let i = 0; i < 8; i += 1) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: office.email, password: office.password },
        remoteAddress: '10.1.1.1',
      });
      expect(res.statusCode).toBe(200);
    }
  });

  /**
   * One wrong guess at each of seven new users, the i-th sent `from(i)`: one client, so the
   * address throttle lets five through and stops the rest. Returns the users.
   */
  const guessAtSeven = async (
    from: (i: number) => { remoteAddress: string; headers?: Record<string, string> },
  ) => {
    const victims = await Promise.all(Array.from({ length: 7 }, () => t!.user()));
    const codes: number[] = [];
    for (const [i, victim] of victims.entries()) {
      const res = await t!.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: victim.email, password: 'guess' },
        ...from(i),
      });
      codes.push(res.statusCode);
    }
    expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429]);
    return victims;
  };

  it('throttles an IPv6 client by its /64, so rotating addresses within it does not reset the count', async () => {
    // A still clock: on a loaded machine a password check can outlast the first delay.
    t = await createTestApp('sqlite', {
      deps: { loginThrottle: new LoginThrottle({ now: () => 1_000_000 }) },
    });
    // One host of a home /64 has 2^64 addresses: a new one per guess, each at another account.
    const victims = await guessAtSeven((i) => ({
      remoteAddress: `2001:db8:1:2::${(i + 1).toString(16)}`,
    }));
    // Another /64 is another client.
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: victims[6]!.email, password: victims[6]!.password },
      remoteAddress: '2001:db8:1:3::1',
    });
    expect(elsewhere.statusCode).toBe(200);
    // IPv4 clients seen through a dual-stack socket (::ffff:a.b.c.d) stay one address each: they
    // share no /64 bucket.
    for (let i = 1; i <= 6; i += 1) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: victims[i]!.email, password: victims[i]!.password },
        remoteAddress: `::ffff:198.51.100.${i}`,
      });
      expect(res.statusCode, `::ffff:198.51.100.${i}`).toBe(200);
    }
  });

  it('with CALLHOOK_TRUST_PROXY=true, believes only the proxy in front: a client cannot pick its address', async () => {
    t = await createTestApp('sqlite', {
      env: { CALLHOOK_TRUST_PROXY: 'true' },
      deps: { loginThrottle: new LoginThrottle({ now: () => 1_000_000 }) },
    });
    // The client writes an X-Forwarded-For of its own; the proxy appends the address it saw.
    const victims = await guessAtSeven((i) => ({
      remoteAddress: '10.0.0.2',
      headers: { 'x-forwarded-for': `198.51.100.${i + 1}, 203.0.113.7` },
    }));
    // Another client behind the same proxy is another address.
    const other = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: victims[6]!.email, password: victims[6]!.password },
      remoteAddress: '10.0.0.2',
      headers: { 'x-forwarded-for': '203.0.113.8' },
    });
    expect(other.statusCode).toBe(200);
  });

  it('counts parallel guesses: a burst cannot slip past the throttle', async () => {
    t = await createTestApp('sqlite');
    const alice = await t.user();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => login(alice.email, 'wrong-password')),
    );
    const codes = answers.map((a) => a.statusCode);
    expect(codes.filter((c) => c === 401).length).toBeLessThanOrEqual(5);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(7);
  });

  it('writes no password or key to any log line or later answer', async () => {
    t = await createTestApp('sqlite', { captureLogs: true });
    const admin = await t.user({ admin: true });
    const password = 'Very-Secret-Password-42';
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: admin.headers,
      payload: { email: 'carol@example.com', password, name: 'Carol' },
    });
    expect(created.body).not.toContain(password);
    const carolId = created.json<{ id: string }>().id;
    await login('carol@example.com', 'Wrong-Password-99');
    const session = await login('carol@example.com', password);
    const key = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: await t.signIn(admin),
        payload: { name: 'x' },
      })
    ).json<{ key: string }>().key;
    expect(key).toMatch(/^chk_/);
    await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${key}` } });
    await t.app.inject({
      url: '/api/v1/me',
      headers: { cookie: `callhook_session=${session.cookies[0]!.value}` },
    });

    const answers = await Promise.all(
      ['/api/v1/users', `/api/v1/users/${carolId}`, '/api/v1/api-keys', '/api/v1/me'].map(
        async (url) => (await t!.app.inject({ url, headers: admin.headers })).body,
      ),
    );
    const logText = t.logs.join('');
    expect(logText).toContain('sign-in failed');
    for (const secret of [
      password,
      'Wrong-Password-99',
      key,
      session.cookies[0]!.value,
      admin.key,
    ]) {
      expect(logText).not.toContain(secret);
      for (const answer of answers) expect(answer).not.toContain(secret);
    }
    for (const answer of answers) expect(answer).not.toMatch(/scrypt\$/);
  });
});
