/**
 * The Gekko portal's entity tabs, audit trail, GPU pools, GPU utilization, deployments and trading
 * health, with the trading-health cards of services and Systems, for Backstage's new frontend
 * system; and the cards of the portal's home page, the trading services and the GPU pools at a
 * glance.
 *
 * @packageDocumentation
 */
export { gekkoPlugin as default } from './plugin';
export { gekkoApiRef } from './api/GekkoApi';
export type { AuditRecordsQuery, GekkoApi } from './api/GekkoApi';
export { GpuPoolsCard } from './pools/GpuPoolsCard';
export { TradingServicesCard } from './services/TradingServicesCard';
