import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliUsageError, parseCliArgs } from './parseCliArgs';

const env = { GEKKO_NATS_URL: 'nats://127.0.0.1:4222' };

function usageError(argv: string[], environment: NodeJS.ProcessEnv = env) {
  try {
    parseCliArgs(argv, environment);
  } catch (error) {
    if (error instanceof CliUsageError) return error.message;
    throw error;
  }
  throw new Error(`parseCliArgs accepted ${argv.join(' ')}`);
}

describe('parseCliArgs', () => {
  it('reads flags, with the environment as fallback', () => {
    expect(
      parseCliArgs(
        [
          '--nats',
          'nats://a:4222,tls://b:4223',
          '--pool',
          'cuda-primary',
          '--id',
          'gpu-7',
          '--heartbeat-ms',
          '500',
          '--threads',
          '2',
          '--subject-prefix',
          'gekko.prod',
        ],
        {},
      ),
    ).toEqual({
      servers: ['nats://a:4222', 'tls://b:4223'],
      pool: 'cuda-primary',
      id: 'gpu-7',
      modelsDir: undefined,
      auth: undefined,
      heartbeatIntervalMs: 500,
      intraOpThreads: 2,
      subjectPrefix: 'gekko.prod',
    });
    expect(
      parseCliArgs([], {
        ...env,
        GEKKO_POOL: 'mps-desk',
        GEKKO_NATS_USER: 'worker',
        GEKKO_NATS_PASSWORD: 'pw',
      }),
    ).toMatchObject({
      servers: ['nats://127.0.0.1:4222'],
      pool: 'mps-desk',
      auth: { user: 'worker', pass: 'pw' },
      subjectPrefix: 'gekko',
    });
    expect(parseCliArgs(['--help'], {})).toBe('help');
  });

  it('names the flag that is wrong', () => {
    expect(usageError([])).toMatch(/^--pool: required/);
    expect(usageError(['--pool', 'p'], {})).toMatch(/^--nats: required/);
    expect(usageError(['--pool', 'p', '--nats', 'http://x'])).toMatch(
      /^--nats: "http:\/\/x" is not a NATS URL/,
    );
    expect(usageError(['--pool', 'p', '--id', 'a.b'])).toMatch(/^--id:/);
    expect(usageError(['--pool', 'p', '--heartbeat-ms', '10'])).toMatch(
      /^--heartbeat-ms:/,
    );
    expect(usageError(['--pool', 'p', '--threads', '1.5'])).toMatch(
      /^--threads:/,
    );
    expect(usageError(['--pool', 'p', '--subject-prefix', 'a.*'])).toMatch(
      /^--subject-prefix:/,
    );
    expect(usageError(['--pool', 'p', '--models-dir', '/no/such'])).toMatch(
      /^--models-dir:/,
    );
    expect(usageError(['--pool', 'p', '--creds', '/no/such.creds'])).toMatch(
      /^--creds:/,
    );
    expect(usageError(['--pool', 'p', '--bogus=1'])).toBe(
      '--bogus: unknown option',
    );
    expect(usageError(['--pool'])).toBe('--pool: needs a value');
    expect(usageError(['--pool', 'p', 'extra'])).toMatch(/unexpected argument/);
  });

  it('keeps secrets off the command line and out of its messages', () => {
    for (const flag of ['--token', '--password', '--user']) {
      const message = usageError(['--pool', 'p', `${flag}=s3cret`]);
      expect(message).toMatch(new RegExp(`^${flag} is not accepted`));
      expect(message).toMatch(/GEKKO_NATS_/);
      expect(message).not.toContain('s3cret');
    }
    expect(
      usageError(['--pool', 'p', '--nats', 'nats://u:s3cret@h:4222 x']),
    ).not.toContain('s3cret');
    expect(
      usageError(['--pool', 'p'], { ...env, GEKKO_NATS_USER: 'u' }),
    ).toMatch(/GEKKO_NATS_PASSWORD/);
    // Nor credentials inside the URL on the command line.
    const inUrl = usageError([
      '--pool',
      'p',
      '--nats',
      'nats://u:s3cret@h:4222',
    ]);
    expect(inUrl).toMatch(/^--nats: .* carries credentials/);
    expect(inUrl).not.toContain('s3cret');
  });

  it('takes pool names that are NATS subject tokens only', () => {
    for (const pool of ['a.b', 'a*', 'a>', 'gpu pool']) {
      expect(usageError(['--pool', pool])).toMatch(
        /^--pool: .* is not a pool name/,
      );
    }
  });

  it('reads a password file and TLS files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-cli-'));
    const file = (name: string) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, 'x\n');
      return p;
    };
    const password = file('password');
    const ca = file('ca.pem');
    const cert = file('client.pem');
    const key = file('client-key.pem');
    try {
      expect(
        parseCliArgs(
          [
            '--pool',
            'p',
            '--password-file',
            password,
            '--tls-ca',
            ca,
            '--tls-cert',
            cert,
            '--tls-key',
            key,
          ],
          { ...env, GEKKO_NATS_USER: 'p/w' },
        ),
      ).toMatchObject({
        auth: { user: 'p/w', passFile: password },
        tls: { caFile: ca, certFile: cert, keyFile: key },
      });
      expect(
        parseCliArgs(['--pool', 'p'], {
          ...env,
          GEKKO_NATS_USER: 'p/w',
          GEKKO_NATS_PASSWORD_FILE: password,
          GEKKO_NATS_TLS_CA: ca,
        }),
      ).toMatchObject({
        auth: { passFile: password },
        tls: { caFile: ca },
      });
      expect(usageError(['--pool', 'p', '--password-file', password])).toBe(
        '--password-file: set GEKKO_NATS_USER too',
      );
      expect(
        usageError(['--pool', 'p', '--password-file', password], {
          ...env,
          GEKKO_NATS_USER: 'u',
          GEKKO_NATS_PASSWORD: 'pw',
        }),
      ).toMatch(/give the password one way/);
      expect(usageError(['--pool', 'p', '--tls-cert', cert])).toMatch(
        /^--tls-key: a client certificate needs both/,
      );
      expect(usageError(['--pool', 'p', '--tls-ca', '/no/such.pem'])).toMatch(
        /^--tls-ca: cannot read/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes one way to authenticate', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-cli-'));
    const seed = path.join(dir, 'worker.nk');
    fs.writeFileSync(seed, 'SUAEXAMPLE\n');
    try {
      expect(
        parseCliArgs(['--pool', 'p', '--nkey-seed', seed], env),
      ).toMatchObject({ auth: { nkeySeedFile: seed } });
      expect(
        usageError(['--pool', 'p', '--nkey-seed', seed], {
          ...env,
          GEKKO_NATS_TOKEN: 't',
        }),
      ).toMatch(/GEKKO_NATS_TOKEN and --nkey-seed: give one way/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
