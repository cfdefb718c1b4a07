import { Text } from '@backstage/ui';
import { ReactElement } from 'react';

/**
 * A word beside one of Backstage's status icons (`<StatusError />` …). The word is plain text, read
 * by screen readers: the status components hide what they wrap.
 */
export function StatusWord(props: {
  icon: ReactElement;
  word: string;
  bold?: boolean;
  /** Larger, for the state of a whole service. */
  large?: boolean;
}) {
  const { icon, word, bold, large } = props;
  return (
    <span style={{ display: 'inline-flex', alignItems: 'baseline' }}>
      {icon}
      <Text
        as="span"
        variant={large ? 'title-small' : 'body-small'}
        weight={bold ? 'bold' : 'regular'}
      >
        {word}
      </Text>
    </span>
  );
}
