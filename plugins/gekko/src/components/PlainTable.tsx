import { Text } from '@backstage/ui';
import { ReactNode } from 'react';

const cell = { textAlign: 'left', padding: '4px 12px 4px 0' } as const;

/**
 * A small table of a few rows, with header cells and an accessible name: for the facts of a card
 * or a dialog, where the catalog's data table (paging, search) would be too much.
 */
export function PlainTable(props: {
  label: string;
  headers: string[];
  rows: Array<{ key: string; cells: ReactNode[] }>;
}) {
  return (
    <table
      aria-label={props.label}
      style={{ width: '100%', borderCollapse: 'collapse' }}
    >
      <thead>
        <tr>
          {props.headers.map(header => (
            <th key={header} scope="col" style={cell}>
              <Text variant="body-small" weight="bold">
                {header}
              </Text>
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map(row => (
          <tr key={row.key}>
            {row.cells.map((content, i) => (
              <td key={props.headers[i] ?? i} style={cell}>
                {typeof content === 'string' || typeof content === 'number' ? (
                  <Text variant="body-small">{content}</Text>
                ) : (
                  content
                )}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
