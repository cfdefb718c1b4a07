import type { DeploymentTarget } from '@gekko/plugin-gekko-node';
import {
  DeploymentTargetSummary,
  resourceName,
} from '@gekko/plugin-gekko-common';
import { InputError } from '@backstage/errors';

/**
 * The deployment targets backend modules registered through `gekkoDeploymentTargetsExtensionPoint`:
 * the set a deployment's `target` (and the `gekko.io/deployment-target` annotation) must name.
 */
export class DeploymentTargets {
  private readonly targets = new Map<string, DeploymentTarget>();

  /** Adds targets; throws at start-up on a name that is not a DNS label or is taken. */
  add(...targets: Array<DeploymentTarget | DeploymentTarget[]>): void {
    for (const target of targets.flat()) {
      if (!resourceName('deployment target').safeParse(target.name).success) {
        throw new Error(
          `Deployment target name "${target.name}" must be a lower-case DNS label, e.g. gpu-pool`,
        );
      }
      if (this.targets.has(target.name)) {
        throw new Error(
          `Deployment target ${target.name} is registered twice; each module must use its own name`,
        );
      }
      this.targets.set(target.name, target);
    }
  }

  /** The target of this name; a 400 naming `field` and the registered targets when there is none. */
  get(name: string, field = 'target'): DeploymentTarget {
    const target = this.targets.get(name);
    if (!target) {
      throw new InputError(
        `${field}: no deployment target named ${name}; ${this.describeChoices()}`,
      );
    }
    return target;
  }

  /** Every registered target, by name. */
  list(): DeploymentTargetSummary[] {
    return [...this.targets.values()]
      .map(t => ({
        name: t.name,
        title: t.title,
        strategies: [...t.strategies],
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private describeChoices(): string {
    const names = [...this.targets.keys()].sort();
    return names.length
      ? `the registered targets are ${names.join(', ')}`
      : 'no target is registered: add a backend module that registers one through gekkoDeploymentTargetsExtensionPoint';
  }
}
