import { RELATION_DEPENDENCY_OF } from '@backstage/catalog-model';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import {
  EntityColumnConfig,
  EntityRelationCard,
  entityDataTableColumns,
} from '@backstage/plugin-catalog-react/alpha';
import { Cell, CellText, Column } from '@backstage/ui';

const columns: EntityColumnConfig[] = [
  {
    id: 'name',
    label: 'Name',
    isRowHeader: true,
    isSortable: true,
    header: () => (
      <Column id="name" isRowHeader allowsSorting>
        Name
      </Column>
    ),
    cell: entity => (
      <Cell>
        <EntityRefLink entityRef={entity} title={entity.metadata.name} />
      </Cell>
    ),
    sortValue: entity => entity.metadata.name,
  },
  {
    id: 'title',
    label: 'Title',
    isSortable: true,
    header: () => (
      <Column id="title" allowsSorting>
        Title
      </Column>
    ),
    cell: entity => <CellText title={entity.metadata.title ?? ''} />,
    sortValue: entity => entity.metadata.title ?? '',
  },
  entityDataTableColumns.createOwnerColumn(),
  entityDataTableColumns.createSpecLifecycleColumn(),
];

/** The services that depend on a GPU pool: the pool entity's `dependencyOf` relations. */
export function GpuPoolServicesCard() {
  return (
    <EntityRelationCard
      title="Services on this pool"
      relationType={RELATION_DEPENDENCY_OF}
      columnConfig={columns}
      emptyState={{
        message: 'No service in the catalog depends on this pool yet.',
      }}
    />
  );
}
