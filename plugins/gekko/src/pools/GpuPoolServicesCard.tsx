import { RELATION_DEPENDENCY_OF } from '@backstage/catalog-model';
import { EntityRelationCard } from '@backstage/plugin-catalog-react/alpha';
import { serviceColumns } from '../components/serviceColumns';

/** The services that depend on a GPU pool: the pool entity's `dependencyOf` relations. */
export function GpuPoolServicesCard() {
  return (
    <EntityRelationCard
      title="Services on this pool"
      relationType={RELATION_DEPENDENCY_OF}
      columnConfig={serviceColumns}
      emptyState={{
        message: 'No service in the catalog depends on this pool yet.',
      }}
    />
  );
}
