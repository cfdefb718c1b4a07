export interface Config {
  /** Gekko portal settings. */
  gekko?: {
    /**
     * GPU pools seeded into the gekko backend's database on start (pools it does not have yet).
     * After that, manage them through the portal's API; the database is the truth.
     */
    gpuPools?: Array<{
      /** Lower-case DNS label; the catalog entity is `resource:default/<name>`. */
      name: string;
      title: string;
      description?: string;
      /** `mps` (Apple Silicon GPU), `cuda` (NVIDIA) or `cpu`. */
      accelerator: 'mps' | 'cuda' | 'cpu';
      /** `primary`, `secondary`, `dr`, or another region name. */
      region: string;
      capacity: {
        devices: number;
        memoryGiB: number;
      };
      /** Entity ref of the owning group, e.g. `group:default/platform`. */
      owner: string;
      /** Kubernetes node labels that select the pool's nodes. */
      nodeSelector?: { [label: string]: string };
    }>;
  };
}
