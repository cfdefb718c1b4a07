import { logoTextStyle } from './logoTextStyle';

/** The portal's mark in the closed sidebar. */
export const LogoIcon = () => (
  <svg viewBox="0 0 60 60" height={28} role="img" aria-label="Gekko portal">
    <text x="8" y="46" fontSize="46" style={logoTextStyle}>
      G
    </text>
  </svg>
);
