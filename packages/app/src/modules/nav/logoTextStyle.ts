/** The lettering of the portal's logo, in the sidebar's accent colour. */
export const logoTextStyle = {
  fill: '#7df3e1',
  fontFamily: 'Helvetica Neue, Helvetica, Arial, sans-serif',
  fontWeight: 700,
} as const;
