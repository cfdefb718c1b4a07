/**
 * Scaffolder actions of the Gekko portal: register model versions; validate, start and roll back
 * validated deployments.
 *
 * @packageDocumentation
 */
export { scaffolderModuleGekko as default } from './module';
export { createDeploymentCreateAction } from './actions/deploymentCreate';
export { createDeploymentRollbackAction } from './actions/deploymentRollback';
export { createDeploymentValidateAction } from './actions/deploymentValidate';
export { createModelRegisterAction } from './actions/modelRegister';
