import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './main';

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    argv,
    {},
    {
      stdout: text => (stdout += text),
      stderr: text => (stderr += text),
    },
  );
  return { code, stdout, stderr };
}

describe('gekko-worker nats-user', () => {
  it('makes an nkey identity: the seed in a new private file, the public key in the config entry', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-nats-user-'));
    const seed = path.join(dir, 'gpu-1.nk');
    try {
      const made = await run([
        'nats-user',
        '--pool',
        'cuda-primary',
        '--id',
        'gpu-1',
        '--nkey-seed-out',
        seed,
      ]);
      expect(made.code).toBe(0);
      const seedText = fs.readFileSync(seed, 'utf8').trim();
      expect(seedText).toMatch(/^SU[A-Z2-7]{56}$/);
      expect(fs.statSync(seed).mode & 0o777).toBe(0o600);
      expect(made.stdout).toMatch(
        /^# worker gpu-1 of pool cuda-primary\n\{ nkey: U[A-Z2-7]{55}, permissions: \{ publish: \{ allow: \["gekko.heartbeat.cuda-primary.gpu-1", "gekko.bye.cuda-primary.gpu-1", "gekko.artifacts.get"\] \}, subscribe: \{ allow: \["gekko.worker.cuda-primary.gpu-1.\*", "gekko.inbox.cuda-primary.gpu-1.>"\] \}, allow_responses: true \} \}\n$/,
      );
      // The secret is in the file only.
      expect(made.stdout + made.stderr).not.toContain(seedText);
      // An existing seed is never overwritten.
      const again = await run([
        'nats-user',
        '--pool',
        'cuda-primary',
        '--id',
        'gpu-1',
        '--nkey-seed-out',
        seed,
      ]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/cannot create .*EEXIST/);
      expect(fs.readFileSync(seed, 'utf8').trim()).toBe(seedText);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes a password identity whose password the server reads from its environment', async () => {
    const made = await run([
      'nats-user',
      '--pool',
      'mps-primary',
      '--id',
      'mac-1',
      '--subject-prefix',
      'gekko.prod',
    ]);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(
      '{ user: "mps-primary/mac-1", password: $GEKKO_NATS_PASSWORD_MPS_PRIMARY__MAC_1, permissions: { publish: { allow: ["gekko.prod.heartbeat.mps-primary.mac-1"',
    );
    expect(made.stderr).toContain('GEKKO_NATS_USER=mps-primary/mac-1');
  });

  it('names the flag that is wrong', async () => {
    await expect(run(['nats-user', '--id', 'x'])).resolves.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--pool: required/),
    });
    await expect(
      run(['nats-user', '--pool', 'a.b', '--id', 'x']),
    ).resolves.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /--pool: "a.b" is not a NATS subject token/,
      ),
    });
    await expect(
      run([
        'nats-user',
        '--pool',
        'a',
        '--id',
        'x',
        '--password-variable',
        'A-B',
      ]),
    ).resolves.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--password-variable: "A-B" is not/),
    });
    await expect(run(['nats-user', '--bogus'])).resolves.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--bogus: unknown option/),
    });
  });
});
