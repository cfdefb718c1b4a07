/** A deployment target a backend module registered, as `GET /deployments/targets` lists it. @public */
export interface DeploymentTargetSummary {
  /** The name deployments and the `gekko.io/deployment-target` annotation use, e.g. `gpu-pool`. */
  name: string;
  title: string;
  /** The strategies it can carry out: `blue-green`, `canary`, `rolling`. */
  strategies: string[];
}

/** The answer of `GET /deployments/targets`. @public */
export interface DeploymentTargetList {
  items: DeploymentTargetSummary[];
}
