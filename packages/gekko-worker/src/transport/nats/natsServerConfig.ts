import { DEFAULT_SUBJECT_PREFIX, natsSubjects } from './subjects';

/*
 * The NATS server's side of the worker identities: the subject permissions of the control plane and
 * of each worker, as `nats-server` config text. `deploy/nats/gekko.conf` is written with these, and
 * `gekko-worker nats-user` prints a worker's entry, so the permissions follow the subject layout.
 */

/** What one NATS user may publish and subscribe to. */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
  /** Whether it may reply to requests it received (`allow_responses`), whatever their reply subject. */
  allowResponses: boolean;
}

/**
 * A worker's permissions: publish its own heartbeats and goodbyes and request artifacts; receive
 * only requests addressed to its own pool and id, and replies in its own inbox; answer the
 * requests it received (`allow_responses`, so it needs no right on the control plane's inbox).
 */
export function natsWorkerPermissions(
  pool: string,
  id: string,
  subjectPrefix?: string,
): NatsPermissions {
  const subjects = natsSubjects(subjectPrefix);
  return {
    publish: [
      subjects.heartbeat(pool, id),
      subjects.bye(pool, id),
      subjects.artifacts,
    ],
    subscribe: [subjects.requests(pool, id), `${subjects.inbox(pool, id)}.>`],
    allowResponses: true,
  };
}

/**
 * The subject and JetStream stream where the gekko backend keeps copies of its signed audit
 * checkpoints (the audit trail's witness outside its database).
 */
export function natsAuditWitnessNames(subjectPrefix?: string) {
  const prefix = subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  return {
    subject: `${prefix}.audit.checkpoints`,
    stream: `${prefix
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '_')}_AUDIT_CHECKPOINTS`,
  };
}

/**
 * The control plane's permissions: send requests to any worker and answer artifact requests; receive
 * every heartbeat and goodbye, artifact requests and the replies to its own requests (`_INBOX`);
 * publish audit checkpoints to the witness stream, create it and read it back (JetStream API).
 */
export function natsControlPlanePermissions(
  subjectPrefix?: string,
): NatsPermissions {
  const subjects = natsSubjects(subjectPrefix);
  const prefix = subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  const witness = natsAuditWitnessNames(subjectPrefix);
  return {
    publish: [
      `${prefix}.worker.>`,
      `${prefix}.inbox.>`,
      witness.subject,
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${witness.stream}`,
      `$JS.API.STREAM.CREATE.${witness.stream}`,
      `$JS.API.STREAM.MSG.GET.${witness.stream}`,
    ],
    subscribe: [
      `${prefix}.heartbeat.>`,
      `${prefix}.bye.>`,
      subjects.artifacts,
      '_INBOX.>',
    ],
    allowResponses: false,
  };
}

const quote = (value: string) => JSON.stringify(value);
const list = (values: string[]) => `[${values.map(quote).join(', ')}]`;

/** `permissions` as nats-server config text (one line). */
export function natsPermissionsConfig(permissions: NatsPermissions): string {
  return `{ publish: { allow: ${list(
    permissions.publish,
  )} }, subscribe: { allow: ${list(permissions.subscribe)} }${
    permissions.allowResponses ? ', allow_responses: true' : ''
  } }`;
}

/** The user name of a worker that authenticates with a password: `<pool>/<id>` (neither has a `/`). */
export function natsWorkerUserName(pool: string, id: string): string {
  return `${pool}/${id}`;
}

/** The default name of the server's environment variable that holds a worker's password. */
export function natsWorkerPasswordVariable(pool: string, id: string): string {
  return `GEKKO_NATS_PASSWORD_${pool}__${id}`
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_');
}

/** Options of {@link natsWorkerUserConfig}: give `nkey`, or `passwordVariable`. */
export interface NatsWorkerUserConfigOptions {
  pool: string;
  id: string;
  subjectPrefix?: string;
  /** The worker's public nkey (`U…`); its seed stays with the worker. */
  nkey?: string;
  /** The server's environment variable that holds the worker's password. */
  passwordVariable?: string;
}

/**
 * A worker's entry of a `users` list of nats-server config, with a comment line naming it. With a
 * password, the user is `<pool>/<id>` and the password a `$VARIABLE` the server reads from its
 * environment, so that no secret is written in the config.
 */
export function natsWorkerUserConfig(
  options: NatsWorkerUserConfigOptions,
): string {
  const { pool, id } = options;
  const permissions = natsPermissionsConfig(
    natsWorkerPermissions(pool, id, options.subjectPrefix),
  );
  if (options.nkey) {
    if (!/^U[A-Z2-7]{55}$/.test(options.nkey)) {
      throw new Error(
        `${options.nkey} is not the public nkey of a user (U followed by 55 base32 characters)`,
      );
    }
    return `# worker ${id} of pool ${pool}\n{ nkey: ${options.nkey}, permissions: ${permissions} }`;
  }
  const variable = options.passwordVariable ?? '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
    throw new Error(
      `${JSON.stringify(
        variable,
      )} is not an environment variable name (letters, digits and _)`,
    );
  }
  return `# worker ${id} of pool ${pool}\n{ user: ${quote(
    natsWorkerUserName(pool, id),
  )}, password: $${variable}, permissions: ${permissions} }`;
}

/** The markers around the worker entries of `deploy/nats/gekko.conf`. */
export const NATS_CONFIG_WORKERS_BEGIN = '# --- workers: begin ---';
export const NATS_CONFIG_WORKERS_END = '# --- workers: end ---';

/**
 * `config` (the text of `deploy/nats/gekko.conf`) with the worker entries between the markers
 * replaced by `entries`. Throws when the markers are missing.
 */
export function withNatsWorkerUsers(config: string, entries: string[]): string {
  const begin = config.indexOf(NATS_CONFIG_WORKERS_BEGIN);
  const end = config.indexOf(NATS_CONFIG_WORKERS_END);
  if (begin < 0 || end < begin) {
    throw new Error(
      `The NATS config has no "${NATS_CONFIG_WORKERS_BEGIN}" … "${NATS_CONFIG_WORKERS_END}" section`,
    );
  }
  const indent = /[ \t]*$/.exec(config.slice(0, begin))?.[0] ?? '';
  const body = entries
    .flatMap(entry => entry.split('\n'))
    .map(line => `${indent}${line}\n`)
    .join('');
  return `${config.slice(
    0,
    begin + NATS_CONFIG_WORKERS_BEGIN.length,
  )}\n${body}${indent}${config.slice(end)}`;
}
