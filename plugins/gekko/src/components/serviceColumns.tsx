import { EntityRefLink } from '@backstage/plugin-catalog-react';
import {
  EntityColumnConfig,
  entityDataTableColumns,
} from '@backstage/plugin-catalog-react/alpha';
import { Cell, CellText } from '@backstage/ui';

/**
 * The columns of a table of trading services: the name linking to the service's page, its title
 * and description, its owner and its lifecycle.
 */
export const serviceColumns: EntityColumnConfig[] = [
  {
    id: 'name',
    label: 'Name',
    isRowHeader: true,
    isSortable: true,
    cell: entity => (
      <Cell>
        <EntityRefLink entityRef={entity}>{entity.metadata.name}</EntityRefLink>
      </Cell>
    ),
    sortValue: entity => entity.metadata.name,
  },
  {
    id: 'title',
    label: 'Title',
    isSortable: true,
    cell: entity => (
      <CellText
        title={entity.metadata.title ?? ''}
        description={entity.metadata.description}
      />
    ),
    sortValue: entity => entity.metadata.title ?? '',
  },
  entityDataTableColumns.createOwnerColumn(),
  entityDataTableColumns.createSpecLifecycleColumn(),
];
