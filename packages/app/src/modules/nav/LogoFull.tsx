import { makeStyles } from '@material-ui/core';

const useStyles = makeStyles({
  text: {
    fill: '#7df3e1',
    fontFamily: 'Helvetica Neue, Helvetica, Arial, sans-serif',
    fontWeight: 700,
  },
});

/** The portal's name in the open sidebar. */
export const LogoFull = () => {
  const classes = useStyles();
  return (
    <svg viewBox="0 0 300 60" height={30} role="img" aria-label="Gekko portal">
      <text x="0" y="44" fontSize="42" className={classes.text}>
        Gekko portal
      </text>
    </svg>
  );
};
