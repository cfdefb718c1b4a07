export interface Config {
  gekko?: {
    /** Who may do what in the Gekko portal (users; other backends are always allowed). */
    permissions?: {
      /** Groups or users allowed `gekko.pool.manage`. Default: `group:default/platform`. */
      poolManagers?: string[];
      /** Groups or users allowed `gekko.audit.read`. Default: every signed-in user. */
      auditReaders?: string[];
      /** Groups or users allowed `gekko.audit.append`. Default: `group:default/platform`. */
      auditAppenders?: string[];
      /** Groups or users allowed `gekko.model.manage`. Default: `group:default/platform`. */
      modelManagers?: string[];
      /** Groups or users allowed `gekko.inference.invoke`. Default: every signed-in user. */
      inferenceInvokers?: string[];
      /**
       * Groups or users allowed `gekko.deployment.create` and `gekko.deployment.rollback` on every
       * entity. The owners of an entity are allowed them on that entity anyway (a condition the
       * catalog evaluates). Default: `group:default/platform`.
       */
      deployers?: string[];
    };
  };
}
