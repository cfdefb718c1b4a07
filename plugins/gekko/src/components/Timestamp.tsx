import { Text } from '@backstage/ui';

const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** How long ago (or how far ahead) a time is, in the largest whole unit: "3 hours ago". */
function formatRelativeTime(date: Date, now: Date = new Date()): string {
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  const [unit, size] =
    units.find(([, s]) => Math.abs(seconds) >= s) ?? units[units.length - 1];
  return new Intl.RelativeTimeFormat('en', { numeric: 'auto' }).format(
    Math.trunc(seconds / size),
    unit,
  );
}

/** A point in time, in the viewer's local time and relative to now; the ISO time on hover. */
export function Timestamp(props: { time: string }) {
  const date = new Date(props.time);
  if (Number.isNaN(date.getTime())) {
    return <>{props.time}</>;
  }
  return (
    <time dateTime={props.time} title={date.toISOString()}>
      {date.toLocaleString()}{' '}
      <Text as="span" variant="body-small" color="secondary">
        ({formatRelativeTime(date)})
      </Text>
    </time>
  );
}
