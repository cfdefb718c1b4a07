import {
  Link,
  sidebarConfig,
  useSidebarOpenState,
} from '@backstage/core-components';
import { LogoFull } from './LogoFull';
import { LogoIcon } from './LogoIcon';

const rootStyle = {
  width: sidebarConfig.drawerWidthClosed,
  height: 3 * sidebarConfig.logoHeight,
  display: 'flex',
  flexFlow: 'row nowrap',
  alignItems: 'center',
  marginBottom: -14,
} as const;

const linkStyle = {
  width: sidebarConfig.drawerWidthClosed,
  marginLeft: 24,
} as const;

export const SidebarLogo = () => {
  const { isOpen } = useSidebarOpenState();

  return (
    <div style={rootStyle}>
      <Link to="/" underline="none" style={linkStyle} aria-label="Home">
        {isOpen ? <LogoFull /> : <LogoIcon />}
      </Link>
    </div>
  );
};
