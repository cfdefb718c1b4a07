import { z } from 'zod';
import { dnsLabel } from './validation';

/** Accelerator kinds: Apple Silicon GPU (`mps`), NVIDIA (`cuda`), or none (`cpu`). @public */
export const ACCELERATORS = ['mps', 'cuda', 'cpu'] as const;

/** An accelerator kind. @public */
export type Accelerator = (typeof ACCELERATORS)[number];

const labelKey = z
  .string()
  .max(253)
  .regex(
    /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
    'must be a Kubernetes label key',
  );
const labelValue = z
  .string()
  .max(63)
  .regex(
    /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/,
    'must be a Kubernetes label value',
  );

const entityRefString = z
  .string()
  .regex(
    /^([a-z]+:)?([a-z0-9-_.]+\/)?[A-Za-z0-9][A-Za-z0-9-_.]{0,62}$/,
    'must be an entity reference such as group:default/platform',
  );

/** Fields a person sets on a pool. @public */
export const gpuPoolSpecSchema = z
  .object({
    title: z.string().trim().min(1, 'must not be empty').max(100),
    description: z.string().max(1000).optional(),
    accelerator: z.enum(ACCELERATORS),
    region: dnsLabel,
    capacity: z
      .object({
        devices: z.number().int('must be a whole number').min(0).max(100_000),
        memoryGiB: z.number().min(0).max(100_000_000),
      })
      .strict(),
    owner: entityRefString,
    nodeSelector: z.record(labelKey, labelValue).default({}),
  })
  .strict();

/** Body of `POST /pools`. @public */
export const createGpuPoolSchema = gpuPoolSpecSchema
  .extend({ name: dnsLabel })
  .strict();

/** Body of `PATCH /pools/:name`: any subset of the spec. @public */
export const updateGpuPoolSchema = gpuPoolSpecSchema
  .extend({ capacity: gpuPoolSpecSchema.shape.capacity.partial() })
  .partial()
  .strict()
  .refine(v => Object.keys(v).length > 0, {
    message: 'must change at least one field',
  });

/** A GPU pool as the API serves it. @public */
export interface GpuPool {
  name: string;
  title: string;
  description?: string;
  accelerator: Accelerator;
  region: string;
  capacity: { devices: number; memoryGiB: number };
  owner: string;
  nodeSelector: Record<string, string>;
  /** `config` when seeded from `gekko.gpuPools`, `api` when created through the API. */
  source: 'config' | 'api';
  createdAt: string;
  updatedAt: string;
}

/** Input of a pool creation. @public */
export type CreateGpuPoolRequest = z.input<typeof createGpuPoolSchema>;

/** Input of a pool update. @public */
export type UpdateGpuPoolRequest = z.input<typeof updateGpuPoolSchema>;

/** A validated pool creation. @public */
export type GpuPoolCreation = z.output<typeof createGpuPoolSchema>;

/** A validated pool change. @public */
export type GpuPoolChange = z.output<typeof updateGpuPoolSchema>;

/** The catalog entity ref of a pool. @public */
export function gpuPoolEntityRef(name: string): string {
  return `resource:default/${name}`;
}

/** A pool's node selector as a Kubernetes label selector string (`a=b,c=d`). @public */
export function formatNodeSelector(selector: Record<string, string>): string {
  return Object.entries(selector)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Events-service topic on which the gekko backend announces pool changes. @public */
export const GPU_POOL_EVENTS_TOPIC = 'gekko.gpu-pools';

/** Payload of a pool change event. @public */
export interface GpuPoolChangedEvent {
  name: string;
  change: 'created' | 'updated' | 'deleted';
}
