import {
  AuditorService,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { AccessGuard } from '../service/AccessGuard';
import { GekkoCapability } from '../service/createRouter';
import { AuditedChanges } from './AuditedChanges';
import { AuditTrail } from './AuditTrail';
import { createAuditRouter } from './router';

/**
 * The audit trail, the one way to make an audited change, the access guard (whose denials the trail
 * records) and the trail's routes.
 */
export function createAuditCapability(options: {
  db: Knex;
  logger: LoggerService;
  auditor: AuditorService;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
}) {
  const { db, logger, auditor } = options;
  const trail = new AuditTrail(db, { logger, auditor });
  const guard = new AccessGuard(options.httpAuth, options.permissions, trail);
  const capability: GekkoCapability = {
    router: createAuditRouter({ audit: trail, guard }),
  };
  return {
    trail,
    changes: new AuditedChanges(db, trail),
    guard,
    ...capability,
  };
}
