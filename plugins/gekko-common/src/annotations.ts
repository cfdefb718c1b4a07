/**
 * Annotation names of the Gekko portal, on trading-service Components and on GPU pool Resources.
 *
 * @public
 */
export const GEKKO_ANNOTATIONS = {
  /** Component: name of the GPU pool the service runs its inference on. */
  gpuPool: 'gekko.io/gpu-pool',
  /**
   * Component: the deployment target its releases go to, by name (`gpu-pool` for model versions on
   * GPU pools, `kubernetes`, or any target a backend module registers; `GET /deployments/targets`
   * lists them).
   */
  deploymentTarget: 'gekko.io/deployment-target',
  /** Component: http(s) URL of its health endpoint. */
  healthUrl: 'gekko.io/health-url',
  /** Component: http(s) URL of its Prometheus metrics endpoint. */
  metricsUrl: 'gekko.io/metrics-url',
  /** Component: Prometheus label selector of its series, e.g. `{job="trading-engine"}`. */
  prometheusSelector: 'gekko.io/prometheus-selector',
  /**
   * Component: the SLOs its health is judged against, e.g. `order-latency<80ms, availability`
   * (see `parseSloAnnotation`); a Component with it is a trading service on the Trading health tab.
   */
  slos: 'gekko.io/slos',
  /** Component: the trading venues it connects to, e.g. `coinbase, binance-us, oanda`. */
  venues: 'gekko.io/venues',
  /** Resource (gpu-pool): accelerator kind, `mps`, `cuda` or `cpu`. */
  accelerator: 'gekko.io/accelerator',
  /** Resource (gpu-pool): region, e.g. `primary`, `secondary`, `dr`. */
  region: 'gekko.io/region',
  /** Resource (gpu-pool): Kubernetes label selector of its nodes, e.g. `gpu=h100,zone=a`. */
  nodeSelector: 'gekko.io/node-selector',
} as const;

/**
 * The deployment target of model versions on GPU pools, which needs the `gekko.io/gpu-pool`
 * annotation too. @public
 */
export const GPU_POOL_DEPLOYMENT_TARGET = 'gpu-pool';

/** `spec.type` of GPU pool Resource entities. @public */
export const GPU_POOL_ENTITY_TYPE = 'gpu-pool';

/** The System every Gekko entity belongs to unless said otherwise. @public */
export const GEKKO_SYSTEM = 'gordon-gekko';
