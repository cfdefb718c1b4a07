import { InfoCard } from '@backstage/core-components';
import { Text } from '@backstage/ui';
import type { VenueStatus } from '@gekko/plugin-gekko-common';
import { PlainTable } from '../components/PlainTable';
import { formatAge, NOT_REPORTED } from './formatHealth';
import { HealthStateStatus } from './HealthStateStatus';

function connection(connected?: boolean): string {
  if (connected === undefined) return NOT_REPORTED;
  return connected ? 'connected' : 'disconnected';
}

/** The venues the service trades on: connected or not, how fresh their last message is, and why. */
export function VenuePanel(props: { venues: VenueStatus[] }) {
  return (
    <section aria-label="Venues">
      <InfoCard
        title="Venues"
        subheader="The service's connections to its trading venues, as it reports them"
      >
        <PlainTable
          label="Venues"
          headers={[
            'Venue',
            'Protocol',
            'Connection',
            'Last message',
            'State',
            'Why',
          ]}
          rows={props.venues.map(venue => ({
            key: venue.venue,
            cells: [
              <Text as="span" variant="body-small" weight="bold">
                {venue.title}
              </Text>,
              venue.protocol,
              <Text
                as="span"
                variant="body-small"
                weight={venue.connected === false ? 'bold' : 'regular'}
                color={venue.connected === false ? 'danger' : undefined}
              >
                {connection(venue.connected)}
              </Text>,
              formatAge(venue.lastMessageAgeSeconds),
              <HealthStateStatus state={venue.state} />,
              venue.reason,
            ],
          }))}
        />
      </InfoCard>
    </section>
  );
}
