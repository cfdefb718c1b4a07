import {
  AuditCheckpoint,
  canonicalAuditCheckpoint,
} from '@gekko/plugin-gekko-common';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign,
  verify,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Id of a public key: the first 16 hex digits of SHA-256 of its SPKI DER encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** Reads an Ed25519 public key from PEM text (a config value or a file's content). */
export function readPublicKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(
      `${where} is not a PEM public key (${(error as Error).message})`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `${where} is a ${key.asymmetricKeyType} key; audit checkpoints are signed with Ed25519`,
    );
  }
  return key;
}

/** The public keys a verifier trusts, by key id. */
export class TrustedKeys {
  private readonly byId = new Map<string, KeyObject>();

  constructor(keys: KeyObject[] = []) {
    for (const key of keys) this.byId.set(keyIdOf(key), key);
  }

  get size(): number {
    return this.byId.size;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** Undefined when the signature is good; otherwise why not. */
  check(checkpoint: AuditCheckpoint): string | undefined {
    const key = this.byId.get(checkpoint.keyId);
    if (!key) {
      return `it is signed by key ${
        checkpoint.keyId
      }, which is not a trusted key (trusted: ${
        this.ids().join(', ') || 'none'
      }); after a key rotation, list the old public key in gekko.audit.signing.trustedPublicKeys`;
    }
    const { signature, ...fields } = checkpoint;
    let good = false;
    try {
      good = verify(
        null,
        Buffer.from(canonicalAuditCheckpoint(fields)),
        key,
        Buffer.from(signature, 'base64'),
      );
    } catch {
      good = false;
    }
    return good
      ? undefined
      : `its signature does not match its seq, hash and time under key ${checkpoint.keyId}`;
  }
}

/** The backend's signing key and the keys its verify trusts. */
export interface AuditSigningKey {
  keyId: string;
  publicKeyPem: string;
  trusted: TrustedKeys;
  sign(
    checkpoint: Omit<AuditCheckpoint, 'signature' | 'keyId'>,
  ): AuditCheckpoint;
}

/** `gekko.audit.signing`, as read from config. */
export interface AuditSigningConfig {
  /** PEM text of the private key (from `GEKKO_AUDIT_SIGNING_KEY`), taking precedence over the file. */
  privateKeyPem?: string;
  /** Absolute path of the PEM private key file. */
  privateKeyFile?: string;
  /** Create the file when it is missing (the embedded default only). */
  generateIfMissing: boolean;
  /** PEM public key the private key must match, when given. */
  publicKey?: string;
  /** Older public keys whose checkpoints still verify (after a rotation). */
  trustedPublicKeys: string[];
  /** A checkpoint is signed once this many records are unsigned… */
  checkpointEvery: number;
  /** …or this long after the first unsigned record, whichever comes first. */
  checkpointIntervalMs: number;
}

/**
 * Loads the signing key: `GEKKO_AUDIT_SIGNING_KEY` (PEM) or the key file; with `generateIfMissing`,
 * a missing file is created once (mode 0600) beside its public key, and `onGenerated` is told so the
 * caller can warn that production must bring its own.
 */
export function loadSigningKey(
  config: AuditSigningConfig,
  onGenerated: (file: string, publicKeyPem: string) => void,
): AuditSigningKey {
  let pem = config.privateKeyPem;
  if (!pem && config.privateKeyFile) {
    const file = config.privateKeyFile;
    if (!fs.existsSync(file) && config.generateIfMissing) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(
        file,
        privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        { mode: 0o600, flag: 'wx' },
      );
      const publicPem = publicKey.export({
        type: 'spki',
        format: 'pem',
      }) as string;
      fs.writeFileSync(publicKeyFileOf(file), publicPem);
      onGenerated(file, publicPem);
    }
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(
        `Cannot read the audit signing key gekko.audit.signing.privateKeyFile (${file}): ${
          (error as NodeJS.ErrnoException).code ?? (error as Error).message
        }. Create one with: openssl genpkey -algorithm ed25519 -out ${file}`,
      );
    }
  }
  if (!pem) throw new Error('No audit signing key configured');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new Error(
      `The audit signing key is not a PEM private key (${
        (error as Error).message
      })`,
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `The audit signing key is a ${privateKey.asymmetricKeyType} key; it must be Ed25519 (openssl genpkey -algorithm ed25519)`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  if (config.publicKey) {
    const configured = readPublicKey(
      config.publicKey,
      'gekko.audit.signing.publicKey',
    );
    if (keyIdOf(configured) !== keyId) {
      throw new Error(
        `gekko.audit.signing.publicKey (key ${keyIdOf(
          configured,
        )}) does not belong to the signing key (key ${keyId})`,
      );
    }
  }
  const trusted = new TrustedKeys([
    publicKey,
    ...config.trustedPublicKeys.map((p, i) =>
      readPublicKey(p, `gekko.audit.signing.trustedPublicKeys[${i}]`),
    ),
  ]);
  return {
    keyId,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    trusted,
    sign(fields) {
      const unsigned = { ...fields, keyId };
      const signature = sign(
        null,
        Buffer.from(canonicalAuditCheckpoint(unsigned)),
        privateKey,
      ).toString('base64');
      return { ...unsigned, signature };
    },
  };
}

/** Where a generated key's public half is written: `<key>.pub.pem` beside it. */
export function publicKeyFileOf(privateKeyFile: string): string {
  return privateKeyFile.replace(/(\.pem)?$/, '.pub.pem');
}
