import { Alert } from '@backstage/ui';
import { backendMessage } from '../api/backendMessage';
import { formatClockWithSeconds } from './format';

/** Says that a refresh failed and that what is shown dates from the last one that worked. */
export function StaleDataAlert(props: {
  /** What is shown, as in "Could not refresh the workers". */
  what: string;
  error: Error;
  updatedAt?: Date;
}) {
  const { what, error, updatedAt } = props;
  return (
    <Alert
      status="warning"
      icon
      title={`Could not refresh ${what}`}
      description={`${backendMessage(error)}. Showing ${what} as of ${
        updatedAt ? formatClockWithSeconds(updatedAt) : 'the last refresh'
      }.`}
    />
  );
}
