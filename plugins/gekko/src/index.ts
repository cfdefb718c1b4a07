/**
 * The Gekko portal's entity tabs, audit trail, GPU pools and GPU utilization, for Backstage's new
 * frontend system.
 *
 * @packageDocumentation
 */
export { gekkoPlugin as default } from './plugin';
export { gekkoApiRef } from './api/GekkoApi';
export type { AuditRecordsQuery, GekkoApi } from './api/GekkoApi';
export { GekkoClient } from './api/GekkoClient';
