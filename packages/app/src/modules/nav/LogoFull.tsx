import { logoTextStyle } from './logoTextStyle';

/** The portal's name in the open sidebar. */
export const LogoFull = () => (
  <svg viewBox="0 0 300 60" height={30} role="img" aria-label="Gekko portal">
    <text x="0" y="44" fontSize="42" style={logoTextStyle}>
      Gekko portal
    </text>
  </svg>
);
