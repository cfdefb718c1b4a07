/**
 * The Gekko portal's permission policy.
 *
 * @packageDocumentation
 */
export { permissionModuleGekkoPolicy as default } from './module';
export {
  GekkoPermissionPolicy,
  readGekkoPermissionHolders,
} from './GekkoPermissionPolicy';
export type { GekkoPermissionHolders } from './GekkoPermissionPolicy';
