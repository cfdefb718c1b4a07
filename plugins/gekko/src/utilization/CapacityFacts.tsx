import { Text } from '@backstage/ui';
import type { GpuPoolCapacity } from '@gekko/plugin-gekko-common';
import { makeStyles } from '@material-ui/core/styles';
import { capacityFacts } from './capacityFacts';

const useStyles = makeStyles(theme => ({
  facts: {
    display: 'flex',
    flexWrap: 'wrap',
    gap: theme.spacing(2, 5),
    margin: 0,
  },
  value: { margin: 0 },
}));

/** A pool's live capacity in one row of figures: ready workers, devices, memory, load. */
export function CapacityFacts(props: { capacity: GpuPoolCapacity }) {
  const classes = useStyles();
  return (
    <dl className={classes.facts}>
      {capacityFacts(props.capacity).map(([label, value]) => (
        <div key={label}>
          <dt>
            <Text as="span" variant="body-small" color="secondary">
              {label}
            </Text>
          </dt>
          <dd className={classes.value}>
            <Text as="span" variant="title-small">
              {value}
            </Text>
          </dd>
        </div>
      ))}
    </dl>
  );
}
