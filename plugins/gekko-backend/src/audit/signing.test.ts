import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newKeyPair } from './__testUtils__/signedTrail';
import {
  AuditSigningConfig,
  loadSigningKey,
  publicKeyFileOf,
  TrustedKeys,
} from './signing';

const base: AuditSigningConfig = {
  generateIfMissing: false,
  trustedPublicKeys: [],
  checkpointEvery: 1000,
  checkpointIntervalMs: 60_000,
};

describe('audit signing keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-signing-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('generates a key once, readable by its owner only, with its public half beside it', () => {
    const file = path.join(dir, 'nested', 'audit-signing-key.pem');
    const generated = jest.fn();
    const first = loadSigningKey(
      { ...base, privateKeyFile: file, generateIfMissing: true },
      generated,
    );
    expect(generated).toHaveBeenCalledWith(file, first.publicKeyPem);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(publicKeyFileOf(file), 'utf8')).toBe(
      first.publicKeyPem,
    );
    const again = loadSigningKey(
      { ...base, privateKeyFile: file, generateIfMissing: true },
      generated,
    );
    expect(generated).toHaveBeenCalledTimes(1);
    expect(again.keyId).toBe(first.keyId);
  });

  it('signs checkpoints that its trusted keys verify, and nothing else', () => {
    const keys = newKeyPair();
    const key = loadSigningKey(
      { ...base, privateKeyPem: keys.privateKeyPem },
      () => {},
    );
    const checkpoint = key.sign({
      seq: 7,
      hash: 'a'.repeat(64),
      time: '2026-12-02T10:00:00.000Z',
    });
    expect(key.trusted.check(checkpoint)).toBeUndefined();
    expect(key.trusted.check({ ...checkpoint, seq: 8 })).toMatch(
      /signature does not match/,
    );
    expect(new TrustedKeys().check(checkpoint)).toMatch(/not a trusted key/);
  });

  it('says what is wrong with a missing, foreign or mismatched key', () => {
    const missing = path.join(dir, 'absent.pem');
    expect(() =>
      loadSigningKey({ ...base, privateKeyFile: missing }, () => {}),
    ).toThrow(
      `Cannot read the audit signing key gekko.audit.signing.privateKeyFile (${missing}): ENOENT. Create one with: openssl genpkey -algorithm ed25519 -out ${missing}`,
    );
    const rsa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
    }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() =>
      loadSigningKey({ ...base, privateKeyPem: rsa }, () => {}),
    ).toThrow(/is a rsa key; it must be Ed25519/);
    expect(() =>
      loadSigningKey(
        {
          ...base,
          privateKeyPem: newKeyPair().privateKeyPem,
          publicKey: newKeyPair().publicKeyPem,
        },
        () => {},
      ),
    ).toThrow(
      /gekko.audit.signing.publicKey \(key [0-9a-f]{16}\) does not belong to the signing key/,
    );
    expect(() =>
      loadSigningKey({ ...base, privateKeyPem: 'not a key' }, () => {}),
    ).toThrow(/is not a PEM private key/);
  });
});
