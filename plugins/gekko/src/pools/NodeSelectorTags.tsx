import { Tag, TagGroup, Text } from '@backstage/ui';
import { formatNodeSelector } from '@gekko/plugin-gekko-common';

/** A pool's Kubernetes node selector, one `key=value` tag per label. */
export function NodeSelectorTags(props: { selector: Record<string, string> }) {
  const selector = formatNodeSelector(props.selector);
  if (!selector) {
    return (
      <Text as="span" color="secondary">
        any node
      </Text>
    );
  }
  return (
    <TagGroup aria-label="Node selector">
      {selector.split(',').map(label => (
        <Tag key={label} id={label}>
          {label}
        </Tag>
      ))}
    </TagGroup>
  );
}
