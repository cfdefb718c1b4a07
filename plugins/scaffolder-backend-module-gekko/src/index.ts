/**
 * Scaffolder actions of the Gekko portal: validate, start and roll back validated deployments.
 *
 * @packageDocumentation
 */
export { scaffolderModuleGekko as default } from './module';
export { createDeploymentCreateAction } from './actions/deploymentCreate';
export { createDeploymentRollbackAction } from './actions/deploymentRollback';
export { createDeploymentValidateAction } from './actions/deploymentValidate';
