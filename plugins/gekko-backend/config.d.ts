import { HumanDuration } from '@backstage/types';

export interface Config {
  /** Gekko portal settings. */
  gekko?: {
    /**
     * GPU pools seeded into the gekko backend's database on start (pools it does not have yet).
     * After that, manage them through the portal's API; the database is the truth.
     */
    gpuPools?: Array<{
      /** Lower-case DNS label; the catalog entity is `resource:default/<name>`. */
      name: string;
      title: string;
      description?: string;
      /** `mps` (Apple Silicon GPU), `cuda` (NVIDIA) or `cpu`. */
      accelerator: 'mps' | 'cuda' | 'cpu';
      /** `primary`, `secondary`, `dr`, or another region name. */
      region: string;
      capacity: {
        devices: number;
        memoryGiB: number;
      };
      /** Entity ref of the owning group, e.g. `group:default/platform`. */
      owner: string;
      /** Kubernetes node labels that select the pool's nodes. */
      nodeSelector?: { [label: string]: string };
    }>;

    /** The inference gateway and its model registry. */
    inference?: {
      /** Folder model artifacts are registered from (relative to the backend's working directory). Default `models`. */
      modelsDir?: string;
      /**
       * The inference data plane: the predict route on a port of its own, without Backstage's
       * Express stack (as Triton keeps inference off its management API). Off unless a port is set.
       */
      dataPlane?: {
        /** Port to listen on; 0 picks a free one (GET /inference/data-plane tells which). */
        port?: number;
        /** Interface to bind. Default 127.0.0.1. */
        host?: string;
      };
      /**
       * Deadline of a predict request that sets none, e.g. `{ seconds: 10 }`, `'10s'` or `'PT10S'`.
       * Default 10 seconds.
       */
      defaultDeadline?: HumanDuration | string;
      /** @deprecated use `defaultDeadline`; the same in milliseconds. */
      defaultDeadlineMs?: number;
      /** How long a worker may take to load a model version. Default 1 minute. */
      loadTimeout?: HumanDuration | string;
      /** Workers inside the backend process (the embedded default transport). */
      embedded?: {
        /** Workers; 0 turns them off. Default 2. */
        workers?: number;
        /** The pool they serve. Default `cpu-dr`. */
        pool?: string;
        /**
         * Where they run: `threads`, a worker thread each; `in-process`, on the backend's event loop
         * (no hand-off to pay, but inference holds the event loop while it runs); `auto` (the
         * default), `in-process` on 2 cores or fewer and `threads` on more.
         */
        mode?: 'auto' | 'threads' | 'in-process';
        /**
         * onnxruntime intra-op threads per worker. Default: with threads, the cores left after one
         * for the event loop, shared among the workers, at least 1 (1 each for 2 workers on 2 to 4
         * cores); in-process, all cores but one, at least 1, as runs on the event loop take turns.
         */
        intraOpThreads?: number;
      };
      /**
       * Replays a model's holdout windows through the gateway as live traffic, one window per
       * request, so that a canary's analysis has evidence where no trading engine calls the model
       * (the embedded default). Off unless set.
       */
      replayTraffic?: {
        /** The model to call, e.g. `nhits-price`; the version is drawn by traffic weight. */
        model: string;
        /** Requests per second; 0 turns the replay off (as app-config.production.yaml does). */
        ratePerSecond: number;
        /** Path inside modelsDir of the holdout file; default the `holdout.json` beside a version's artifact. */
        holdout?: string;
      };
      /** Model versions registered (and deployed, unless weight is 0) on start when missing. */
      models?: Array<{
        name: string;
        version: string;
        /** Path of the ONNX file inside modelsDir. */
        artifact: string;
        description?: string;
        pools: string[];
        maxBatchSize?: number;
        maxQueueDelayMs?: number;
        /** Traffic weight once deployed; 0 registers without deploying. Default 100. */
        weight?: number;
      }>;
    };

    /** The GPU manager. */
    gpu?: {
      /** Interval workers heartbeat at; a worker that misses 3 is dropped. Default 1 second. */
      heartbeatInterval?: HumanDuration | string;
      /** @deprecated use `heartbeatInterval`; the same in milliseconds. */
      heartbeatIntervalMs?: number;
      /** How long per-minute utilization history is kept, e.g. `{ hours: 48 }`. Default 48 hours. */
      historyRetention?: HumanDuration | string;
      /** @deprecated use `historyRetention`; the same in hours. */
      historyRetentionHours?: number;
      /** Chaos testing: `POST /gpu/workers/:id/crash` crashes an embedded worker (needs gekko.pool.manage). Default off. */
      chaos?: { enabled?: boolean };
    };

    /** The audit trail: signed checkpoints and archival. */
    audit?: {
      /**
       * Signed checkpoints: every `checkpointEvery` records or `checkpointInterval`, the backend
       * signs the chain's head with an Ed25519 key, and verify checks the chain passes through
       * every checkpoint. Off when no private key is given (a warning says so at start).
       */
      signing?: {
        /**
         * PEM file of the Ed25519 private key (`openssl genpkey -algorithm ed25519`). The
         * GEKKO_AUDIT_SIGNING_KEY environment variable, holding the PEM itself, takes precedence.
         */
        privateKeyFile?: string;
        /**
         * Create the key file when it is missing (and its public half beside it, `.pub.pem`). For
         * the embedded default only: production supplies its own key.
         */
        generateIfMissing?: boolean;
        /** PEM public key, published for offline checks; the backend refuses to start if the private key does not match it. */
        publicKey?: string;
        /** PEM public keys of earlier signing keys whose checkpoints must still verify after a rotation. */
        trustedPublicKeys?: string[];
        /** Sign once this many records are unsigned. Default 1000. */
        checkpointEvery?: number;
        /** …or this long after the last checkpoint, when records were added. Default 1 minute. */
        checkpointInterval?: HumanDuration | string;
      };
      /**
       * The witness: with `gekko.nats` set, every checkpoint is also published to a NATS JetStream
       * stream (`<subjectPrefix>.audit.checkpoints`, stream `GEKKO_AUDIT_CHECKPOINTS`), and verify
       * checks that the chain passes through the newest one it holds.
       */
      witness?: {
        /** Default true when gekko.nats and signing are set. */
        enabled?: boolean;
      };
      /**
       * Archival: records older than `olderThan` move, as whole checkpointed segments, to gzip
       * JSONL files in `directory`; verify and export read them back. Needs `signing`.
       */
      archive?: {
        /** Folder of the archive files (relative to the backend's working folder). */
        directory?: string;
        /** Age at which records move, e.g. { days: 90 }. Required with `directory`. */
        olderThan?: HumanDuration | string;
        /** How often to look for records to move. Default 1 hour. */
        interval?: HumanDuration | string;
        /** Records per file, about (a file always ends at a checkpoint). Default 100000. */
        maxRecordsPerFile?: number;
      };
    };

    /** The deployment orchestrator. */
    deployments?: {
      /**
       * How long a replica holds a deployment it drives without renewing (it renews every third);
       * a replica that dies hands its deployments over after this long. Default 15 seconds.
       */
      leaseDuration?: HumanDuration | string;
    };

    /** Trading health: how the trading services' metrics are read and their SLOs judged. */
    health?: {
      /** How often each trading service is scraped and its alerts evaluated. Default 15 seconds. */
      scrapeInterval?: HumanDuration | string;
      /**
       * Runs the trading-service simulator (`@gekko/trading-simulator`) inside the backend, for the
       * embedded default: services whose target is `simulator` are scraped from it.
       */
      simulator?: {
        /** Default true when the block is present. */
        enabled?: boolean;
        /** Default 9464. */
        port?: number;
        /** Default 127.0.0.1. */
        host?: string;
      };
      /**
       * Per Component name: `self` (this backend's own metrics), `simulator`, or an http(s) URL,
       * instead of the entity's `gekko.io/metrics-url` (which names the address in the cluster).
       */
      targets?: { [name: string]: string };
    };

    /** Prometheus: when set, trading services' SLOs are judged from its HTTP API. */
    prometheus?: {
      /** e.g. http://prometheus.monitoring:9090 */
      baseUrl: string;
    };

    /**
     * NATS, for remote workers (the scale-out transport). Without it only embedded workers serve.
     */
    nats?: {
      /** One or more server URLs, e.g. `nats://nats.internal:4222`. */
      servers: string | string[];
      /** Subject prefix shared with the workers. Default `gekko`. */
      subjectPrefix?: string;
      /** @visibility secret */
      token?: string;
      user?: string;
      /** @visibility secret */
      password?: string;
      /** Path of a NATS credentials (.creds) file. */
      credsFile?: string;
      /** Path of an NKey seed file. */
      nkeySeedFile?: string;
      /**
       * TLS to NATS (PEM files; any of them makes TLS required). `caFile` trusts a private CA;
       * `certFile` and `keyFile` are the backend's client certificate, for a server with
       * `verify: true` (deploy/nats/gekko.conf).
       */
      tls?: {
        caFile?: string;
        certFile?: string;
        keyFile?: string;
      };
    };

    /**
     * Rate limits per caller (a user entity ref or a service subject), applied once the caller is
     * authenticated; a request over one gets a 429 with `Retry-After`. Each limit is a token bucket:
     * `burst` requests at once, refilled at the rate; `enabled: false` or a rate of 0 turns it off.
     */
    rateLimits?: {
      /** Predict, on the portal route and the data plane. Default 50,000 per second, burst 100,000. */
      predict?: {
        enabled?: boolean;
        requestsPerSecond?: number;
        burst?: number;
      };
      /** Every POST, PUT, PATCH and DELETE of the portal's gekko API but predict. Default 300 per minute, burst 100. */
      mutations?: {
        enabled?: boolean;
        requestsPerMinute?: number;
        burst?: number;
      };
      /**
       * Failed token verifications per client address on the data plane (the portal's are
       * Backstage's). Past it, tokens from the address that were not verified in the last 5 s are
       * refused until it refills, so behind a shared address (NAT, proxy) one client with a bad
       * token would lock out new ones. Off unless set; `{}` gives 10 per second, burst 100.
       */
      failedAuthentications?: {
        enabled?: boolean;
        requestsPerSecond?: number;
        burst?: number;
      };
      /** Other limits for single callers; what a block leaves out comes from the general limit. */
      overrides?: Array<{
        /** e.g. `plugin:scaffolder`, `external:trading-engine` or `user:default/jane`. */
        caller: string;
        predict?: {
          enabled?: boolean;
          requestsPerSecond?: number;
          burst?: number;
        };
        mutations?: {
          enabled?: boolean;
          requestsPerMinute?: number;
          burst?: number;
        };
      }>;
    };
  };
}
