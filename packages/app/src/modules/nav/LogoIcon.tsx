import { makeStyles } from '@material-ui/core';

const useStyles = makeStyles({
  text: {
    fill: '#7df3e1',
    fontFamily: 'Helvetica Neue, Helvetica, Arial, sans-serif',
    fontWeight: 700,
  },
});

/** The portal's mark in the closed sidebar. */
export const LogoIcon = () => {
  const classes = useStyles();
  return (
    <svg viewBox="0 0 60 60" height={28} role="img" aria-label="Gekko portal">
      <text x="8" y="46" fontSize="46" className={classes.text}>
        G
      </text>
    </svg>
  );
};
