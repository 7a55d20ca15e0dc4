import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startProcess, type ServiceProcess } from '../helpers/process.js';
import { openStore } from '../../src/store/db.js';
import { AccountStore } from '../../src/store/account-store.js';

const run = promisify(execFile);
const BIN = path.resolve('dist/cli/index.js');

describe('accounts from the command line and the first start', () => {
  const dirs: string[] = [];
  const running: ServiceProcess[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-cli-'));
    dirs.push(dir);
    return dir;
  };
  const cli = (dir: string, ...args: string[]) =>
    run(process.execPath, [BIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', CALLHOOK_DATA_DIR: dir, CALLHOOK_LOG_LEVEL: 'warn' },
    });

  it('creates a user, grants and revokes, and prints a key that the service accepts', async () => {
    const dir = dataDir();
    const created = await cli(
      dir,
      'users',
      'create',
      '--email',
      'dialer@example.com',
      '--name',
      'Dialer',
    );
    expect(created.stdout).toMatch(/^created user \S+ <dialer@example.com>\npassword: \S{20,}\n$/);
    expect((await cli(dir, 'users', 'grant', 'dialer@example.com', 'integration')).stdout).toBe(
      'granted integration to dialer@example.com\n',
    );
    await cli(dir, 'users', 'grant', 'dialer@example.com', 'event_ingest');
    await cli(dir, 'users', 'revoke', 'dialer@example.com', 'integration');
    const key = (
      await cli(dir, 'keys', 'create', '--email', 'dialer@example.com', '--name', 'dialer')
    ).stdout.trim();
    expect(key).toMatch(/^chk_[A-Za-z0-9_-]{40,}$/);

    const service = startProcess(['serve'], {
      CALLHOOK_DATA_DIR: dir,
      CALLHOOK_ADMIN_PASSWORD: 'admin-password-1',
    });
    running.push(service);
    const url = await service.listening;
    const me = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      email: 'dialer@example.com',
      effectivePermissions: ['event_ingest'],
    });
    // Users existed, so no first admin was made.
    expect(service.logs.some((l) => l['msg'] === 'first admin created')).toBe(false);
  });

  it('says what grant and revoke did: a new or existing direct grant, and what still grants it', async () => {
    const dir = dataDir();
    const out = async (...args: string[]) => (await cli(dir, ...args)).stdout;
    await out('users', 'create', '--email', 'ops@example.com', '--password', 'long-enough-1');
    await out(
      'users',
      'create',
      '--email',
      'boss@example.com',
      '--admin',
      '--password',
      'pw-12345',
    );

    expect(await out('users', 'revoke', 'ops@example.com', 'integration')).toBe(
      'ops@example.com had no direct grant of integration: nothing changed; ' +
        'ops@example.com does not have integration\n',
    );
    expect(await out('users', 'grant', 'ops@example.com', 'integration')).toBe(
      'granted integration to ops@example.com\n',
    );
    expect(await out('users', 'grant', 'ops@example.com', 'integration')).toBe(
      'ops@example.com already had a direct grant of integration: nothing changed\n',
    );

    // Two roles that grant integration, given to ops (the CLI has no role commands).
    const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'callhook.db') });
    try {
      const accounts = new AccountStore(store);
      const ops = (await accounts.findUserByEmail('ops@example.com'))!;
      for (const name of ['Integrators', 'Dialer ops']) {
        const role = await accounts.createRole({
          name,
          description: '',
          permissions: ['integration'],
        });
        await accounts.addUserRole(ops.id, role.id);
      }
    } finally {
      await store.close();
    }
    expect(await out('users', 'revoke', 'ops@example.com', 'integration')).toBe(
      'removed the direct grant of integration from ops@example.com; ' +
        'ops@example.com still has integration through roles Dialer ops, Integrators\n',
    );
    expect(await out('users', 'revoke', 'ops@example.com', 'integration')).toBe(
      'ops@example.com had no direct grant of integration: nothing changed; ' +
        'ops@example.com still has integration through roles Dialer ops, Integrators\n',
    );
    expect(await out('users', 'grant', 'ops@example.com', 'integration')).toBe(
      'granted integration to ops@example.com; ' +
        'ops@example.com also has integration through roles Dialer ops, Integrators\n',
    );
    // An admin holds every permission whatever their grants.
    expect(await out('users', 'revoke', 'boss@example.com', 'user_admin')).toBe(
      'boss@example.com had no direct grant of user_admin: nothing changed; boss@example.com ' +
        'still has user_admin through being an admin (admins hold every permission)\n',
    );
  });

  it('keys create for a disabled user prints the key and says the service refuses it for now', async () => {
    const dir = dataDir();
    await cli(dir, 'users', 'create', '--email', 'off@example.com', '--password', 'long-enough-1');
    const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'callhook.db') });
    try {
      const accounts = new AccountStore(store);
      const user = (await accounts.findUserByEmail('off@example.com'))!;
      await accounts.updateUser(user.id, { disabled: true });
    } finally {
      await store.close();
    }
    const made = await cli(dir, 'keys', 'create', '--email', 'off@example.com');
    expect(made.stdout).toMatch(/^chk_[A-Za-z0-9_-]{40,}\n$/);
    expect(made.stderr).toBe(
      'callhook: off@example.com is disabled: the service refuses this key until the user is ' +
        'enabled again\n',
    );
  });

  it('explains a wrong command: unknown permission, unknown user, taken email', async () => {
    const dir = dataDir();
    await expect(cli(dir, 'users', 'grant', 'x@example.com', 'everything')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown permission "everything"'),
    });
    await expect(
      cli(dir, 'users', 'grant', 'nobody@example.com', 'integration'),
    ).rejects.toMatchObject({
      code: 2,
      stderr: 'callhook: no user with email nobody@example.com\n',
    });
    await cli(dir, 'users', 'create', '--email', 'a@example.com', '--password', 'long-enough-1');
    await expect(
      cli(dir, 'users', 'create', '--email', 'a@example.com', '--password', 'long-enough-1'),
    ).rejects.toMatchObject({
      code: 2,
      stderr: 'callhook: a user with email a@example.com exists\n',
    });
  });

  it('refuses a missing, unknown or extra option, argument or command with exit code 2, naming it', async () => {
    const dir = dataDir();
    const cases: [string[], string][] = [
      [['users', 'create'], "error: required option '--email <email>' not specified\n"],
      [
        ['users', 'create', '--email', 'a@example.com', '--frob'],
        "error: unknown option '--frob'\n",
      ],
      [
        ['users', 'create', '--email', 'a@example.com', '--admin', 'yes'],
        "error: too many arguments for 'create'. Expected 0 arguments but got 1.\n",
      ],
      [['users', 'grant', 'a@example.com'], "error: missing required argument 'permission'\n"],
      [['keys', 'create', '--email'], "error: option '--email <email>' argument missing\n"],
      [
        ['deliveries', 'replay', 'some-id'],
        "error: required option '--since <time>' not specified\n",
      ],
      [['frob'], "error: unknown command 'frob'\n"],
    ];
    for (const [args, stderr] of cases) {
      await expect(cli(dir, ...args), args.join(' ')).rejects.toMatchObject({
        code: 2,
        stdout: '',
        stderr,
      });
    }
    // Help asked for is no error.
    expect((await cli(dir, 'users', '--help')).stdout).toMatch(/^Usage: callhook users /);
    // None made a user.
    const created = await cli(dir, 'users', 'create', '--email', 'a@example.com');
    expect(created.stdout).toMatch(/^created user \S+ <a@example.com>\n/);
  });

  it('refuses users create options the API would refuse, naming the option, and creates no one', async () => {
    const dir = dataDir();
    const refused = async (args: string[], stderr: string) =>
      expect(cli(dir, 'users', 'create', ...args)).rejects.toMatchObject({
        code: 2,
        stdout: '',
        stderr: `callhook: ${stderr}\n`,
      });
    await refused(
      ['--email', 'not-an-email', '--password', 'password1'],
      '--email must be an email address like ops@example.com (3 to 254 characters), got "not-an-email"',
    );
    await refused(
      ['--email', 'ok@example.com', '--name', '', '--password', 'password1'],
      '--name must be 1 to 200 characters, got ""',
    );
    await refused(
      ['--email', 'ok@example.com', '--name', '   ', '--password', 'password1'],
      '--name must not be blank',
    );
    await refused(
      ['--email', 'ok@example.com', '--name', 'n'.repeat(201)],
      `--name must be 1 to 200 characters, got "${'n'.repeat(201)}"`,
    );
    await refused(
      ['--email', 'ok@example.com', '--password', 'short'],
      '--password must be 8 to 1024 characters',
    );
    await refused(
      ['--email', 'ok@example.com', '--password', 'p'.repeat(1025)],
      '--password must be 8 to 1024 characters',
    );
    await refused(
      ['--email', `${'e'.repeat(200)}@example.com`],
      '--name is required when the email is too long to serve as the name',
    );
    // None of them made a user: the email is still free.
    const created = await cli(dir, 'users', 'create', '--email', 'ok@example.com');
    expect(created.stdout).toMatch(/^created user \S+ <ok@example.com>\n/);
    // A key's name follows the API's rule too.
    await expect(
      cli(dir, 'keys', 'create', '--email', 'ok@example.com', '--name', ''),
    ).rejects.toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'callhook: --name must be 1 to 100 characters, got ""\n',
    });
  });

  it('creates the first admin with a generated password, printed once on stderr and never logged', async () => {
    const dir = dataDir();
    const service = startProcess(['serve'], {
      CALLHOOK_DATA_DIR: dir,
      CALLHOOK_ADMIN_EMAIL: 'boss@example.com',
    });
    running.push(service);
    const url = await service.listening;
    const password = /password: (\S+)/.exec(service.stderr.join('\n'))?.[1];
    expect(password).toBeDefined();
    expect(JSON.stringify(service.logs)).not.toContain(password);
    expect(service.logs.find((l) => l['msg'] === 'first admin created')).toMatchObject({
      email: 'boss@example.com',
    });
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'boss@example.com', password }),
    });
    expect(login.status).toBe(200);
    expect(((await login.json()) as { user: { admin: boolean } }).user.admin).toBe(true);
  });
});
