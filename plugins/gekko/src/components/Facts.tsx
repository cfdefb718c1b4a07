import { Text } from '@backstage/ui';
import { ReactNode } from 'react';

// A definition list rather than BUI's Flex, for the term/value pairs; spaced with BUI's tokens.
const factsStyle = {
  display: 'flex',
  flexWrap: 'wrap',
  gap: 'var(--bui-space-3) var(--bui-space-10)',
  margin: 0,
} as const;

/** Figures in one row: each a small term over its value (text, shown large, or any element). */
export function Facts(props: {
  facts: Array<{ term: string; value: ReactNode }>;
}) {
  return (
    <dl style={factsStyle}>
      {props.facts.map(({ term, value }) => (
        <div key={term}>
          <dt>
            <Text as="span" variant="body-small" color="secondary">
              {term}
            </Text>
          </dt>
          <dd style={{ margin: 0 }}>
            {typeof value === 'string' ? (
              <Text as="span" variant="title-small">
                {value}
              </Text>
            ) : (
              value
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}
