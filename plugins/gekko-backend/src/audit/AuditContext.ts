/**
 * Who asked for a change, as the audit trail records it: what a router hands a service instead of
 * the HTTP request, so that services never depend on Express.
 */
export interface AuditContext {
  /** A user entity ref (`user:default/jane`) or a service subject (`plugin:catalog`, `external:ci`). */
  actor: string;
  /** The request id (`x-request-id`) the change came with; null for work the backend starts itself. */
  requestId: string | null;
  /** The caller's network address, when the change came over HTTP. */
  address?: string;
}

/** The context of changes the backend makes on its own, at start-up (seeding pools and models). */
export const STARTUP_CONTEXT: AuditContext = {
  actor: 'plugin:gekko',
  requestId: 'startup',
};
