import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('defaults to the embedded SQLite service on 127.0.0.1:8080', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      logLevel: 'info',
      mode: 'embedded',
      workerConcurrency: 64,
    });
    expect(loadConfig({ CALLHOOK_WORKER_CONCURRENCY: '256' }).workerConcurrency).toBe(256);
    expect(config.activityRetentionMs).toBe(7 * 86_400_000);
    expect(loadConfig({ CALLHOOK_ACTIVITY_RETENTION_DAYS: '2' }).activityRetentionMs).toBe(
      2 * 86_400_000,
    );
    expect(config.database).toEqual({ kind: 'sqlite', file: path.resolve('data/callhook.db') });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads CALLHOOK_RETENTION_DAYS from 1 to 36500 days, so its cut-off stays a bigint', () => {
    expect(loadConfig({}).retentionMs).toBe(30 * 86_400_000);
    expect(loadConfig({ CALLHOOK_RETENTION_DAYS: '36500' }).retentionMs).toBe(36_500 * 86_400_000);
    for (const bad of ['999999999999', '36501', '0', '-1', '1.5']) {
      expect(() => loadConfig({ CALLHOOK_RETENTION_DAYS: bad })).toThrow(
        `CALLHOOK_RETENTION_DAYS must be a whole number from 1 to 36500, got "${bad}"`,
      );
    }
  });

  it('names CALLHOOK_PORT when it is not a port', () => {
    expect(() => loadConfig({ CALLHOOK_PORT: 'abc' })).toThrow(/CALLHOOK_PORT/);
    expect(() => loadConfig({ CALLHOOK_PORT: '70000' })).toThrow(/CALLHOOK_PORT/);
  });

  it('reads CALLHOOK_METRICS_PORT as strictly as CALLHOOK_PORT; unset means no metrics listener', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ CALLHOOK_METRICS_PORT: '  ' }).metricsPort).toBeUndefined();
    expect(loadConfig({ CALLHOOK_METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(loadConfig({ CALLHOOK_METRICS_PORT: '0' }).metricsPort).toBe(0);
    expect(loadConfig({ CALLHOOK_METRICS_PORT: '65535' }).metricsPort).toBe(65535);
    for (const bad of ['abc', '65536', '-1', '+9464', '9464.0', '9e3', '0x24f8', '9464 9465']) {
      expect(() => loadConfig({ CALLHOOK_METRICS_PORT: bad })).toThrow(
        `CALLHOOK_METRICS_PORT must be a whole number from 0 to 65535, got "${bad}"`,
      );
    }
  });

  it('reports every wrong variable at once', () => {
    try {
      loadConfig({
        CALLHOOK_PORT: '-1',
        CALLHOOK_METRICS_PORT: '99999',
        CALLHOOK_LOG_LEVEL: 'loud',
        CALLHOOK_DATABASE_URL: 'mysql://x',
        CALLHOOK_ALLOW_NETWORKS: '10.0.0.0/8, nonsense',
        CALLHOOK_SECRET_KEY: 'short',
        CALLHOOK_ADMIN_EMAIL: 'not-an-email',
        CALLHOOK_ADMIN_PASSWORD: 'short',
        CALLHOOK_WORKER_CONCURRENCY: '0',
        CALLHOOK_ACTIVITY_RETENTION_DAYS: '0',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).problems.join('\n');
      for (const name of [
        'PORT',
        'METRICS_PORT',
        'LOG_LEVEL',
        'DATABASE_URL',
        'ALLOW_NETWORKS',
        'SECRET_KEY',
        'ADMIN_EMAIL',
        'ADMIN_PASSWORD',
        'WORKER_CONCURRENCY',
        'ACTIVITY_RETENTION_DAYS',
      ]) {
        expect(text).toContain(`CALLHOOK_${name}`);
      }
      expect(text).toContain('"nonsense"');
    }
  });

  it('refuses a first admin the sign-in route would refuse', () => {
    expect(() => loadConfig({ CALLHOOK_ADMIN_PASSWORD: 'p'.repeat(1025) })).toThrow(
      /CALLHOOK_ADMIN_PASSWORD must be 8 to 1024 characters, has 1025/,
    );
    expect(() => loadConfig({ CALLHOOK_ADMIN_EMAIL: `${'a'.repeat(250)}@example.com` })).toThrow(
      /CALLHOOK_ADMIN_EMAIL must be an email address of at most 254 characters/,
    );
    expect(loadConfig({ CALLHOOK_ADMIN_PASSWORD: 'p'.repeat(1024) }).adminPassword).toHaveLength(
      1024,
    );
  });

  it('reads PostgreSQL URLs, CIDR lists and keys', () => {
    const config = loadConfig({
      CALLHOOK_DATABASE_URL: 'postgres://u@db/callhook',
      CALLHOOK_ALLOW_NETWORKS: '10.1.0.0/16,fd00::/8',
      CALLHOOK_SECRET_KEY: 'ab'.repeat(32),
      CALLHOOK_DATA_DIR: '/tmp/x',
    });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://u@db/callhook' });
    expect(config.allowNetworks.map((n) => n.cidr)).toEqual(['10.1.0.0/16', 'fd00::/8']);
    expect(config.secretKey?.length).toBe(32);
    expect(config.dataDir).toBe('/tmp/x');
  });

  it('refuses CALLHOOK_ALLOW_NETWORKS shorthands and host bits, naming the entry', () => {
    const problems = (value: string): readonly string[] => {
      try {
        loadConfig({ CALLHOOK_ALLOW_NETWORKS: value });
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    // inet_aton would read these as 0.0.0.0/8, 192.168.0.0/24 and 8.0.0.0/8.
    for (const entry of ['10/8', '192.168.1/24', '010.0.0.0/8', '0x0a.0.0.0/8', '10.0.0.0/08']) {
      const found = problems(entry);
      expect(found, entry).toHaveLength(1);
      expect(found[0]).toContain(`CALLHOOK_ALLOW_NETWORKS has "${entry}"`);
    }
    for (const entry of ['10.0.0.0/33', 'fd00::/129', 'fe80::%eth0/64', '::ffff:010.0.0.0/104']) {
      expect(problems(entry), entry).toHaveLength(1);
    }
    expect(problems('10.1.2.3/8')).toEqual([
      'CALLHOOK_ALLOW_NETWORKS has "10.1.2.3/8", which has host bits set; write its network, 10.0.0.0/8',
    ]);
    expect(problems('fd00:1::5/64')[0]).toContain('write its network, fd00:1::/64');
    const ok = loadConfig({
      CALLHOOK_ALLOW_NETWORKS: '10.20.30.40/32 0.0.0.0/0 ::ffff:10.0.0.0/104 fd00:1::/64',
    });
    expect(ok.allowNetworks.map((n) => n.range[0].toString())).toEqual([
      '10.20.30.40',
      '0.0.0.0',
      '::ffff:a00:0',
      'fd00:1::',
    ]);
  });

  it('asks PostgreSQL deployments for a shared secret key', () => {
    expect(() => loadConfig({ CALLHOOK_DATABASE_URL: 'postgres://u@db/callhook' })).toThrow(
      /CALLHOOK_SECRET_KEY is required with PostgreSQL/,
    );
  });

  it('reads CALLHOOK_TRUST_PROXY as a flag or a list of addresses', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ CALLHOOK_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ CALLHOOK_TRUST_PROXY: '10.0.0.5, 10.0.1.0/24' }).trustProxy).toEqual([
      '10.0.0.5',
      '10.0.1.0/24',
    ]);
    expect(() => loadConfig({ CALLHOOK_TRUST_PROXY: 'proxy.lan' })).toThrow(
      /CALLHOOK_TRUST_PROXY .*"proxy.lan"/,
    );
    // The shorthands CALLHOOK_ALLOW_NETWORKS refuses would trust another range than written.
    expect(loadConfig({ CALLHOOK_TRUST_PROXY: 'fd00::1 ::ffff:10.0.0.1' }).trustProxy).toEqual([
      'fd00::1',
      '::ffff:10.0.0.1',
    ]);
    for (const entry of ['10/8', '10.1', '010.0.0.1', '10.1.2.3/8', 'fe80::1%eth0']) {
      expect(() => loadConfig({ CALLHOOK_TRUST_PROXY: entry }), entry).toThrow(
        new RegExp(`CALLHOOK_TRUST_PROXY .*"${entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`),
      );
    }
  });

  it('refuses production mode without a secret key', () => {
    expect(() => loadConfig({ CALLHOOK_MODE: 'production' })).toThrow(
      /CALLHOOK_SECRET_KEY is required/,
    );
  });

  it('refuses a CALLHOOK_DEFAULT_COUNTRY that is not a country the e164 filter knows', () => {
    expect(loadConfig({ CALLHOOK_DEFAULT_COUNTRY: 'fr' }).defaultCountry).toBe('FR');
    // Two letters, but no country: every `| e164` without an argument would fail to save.
    expect(() => loadConfig({ CALLHOOK_DEFAULT_COUNTRY: 'ZZ' })).toThrow(
      /CALLHOOK_DEFAULT_COUNTRY .*"ZZ"/,
    );
  });

  it('hides the password of a wrong database URL', () => {
    expect(() => loadConfig({ CALLHOOK_DATABASE_URL: 'mysql://user:hunter2@db' })).toThrow(
      /^(?![\s\S]*hunter2)/,
    );
  });
});
