import {
  Card,
  CardBody,
  CardHeader,
  Container,
  Flex,
  Grid,
  Header,
  Text,
} from '@backstage/ui';
import { GpuPoolsCard, TradingServicesCard } from '@gekko/plugin-gekko';
import { ReactNode } from 'react';

/** A section of the home page that a later capability of the portal fills in. */
function LaterCapabilityCard(props: { title: string; children: ReactNode }) {
  return (
    <Card>
      <CardHeader>
        <Text as="h3" variant="title-x-small" weight="bold">
          {props.title}
        </Text>
      </CardHeader>
      <CardBody>
        <Text as="p" color="secondary">
          {props.children}
        </Text>
      </CardBody>
    </Card>
  );
}

/**
 * The Gekko portal's home: the Gordon Gekko system's trading services and GPU pools at a glance,
 * and the places where trading health and deployments will show.
 */
export function GekkoHomePage() {
  return (
    <>
      <Header
        title="Gekko portal"
        description="The Gordon Gekko autonomous trading system at a glance: its trading services and the GPU pools that run their models."
      />
      <Container>
        <Flex direction="column" gap="4" py="4">
          <TradingServicesCard />
          <GpuPoolsCard />
          <Grid.Root columns={{ initial: '1', md: '2' }} gap="4">
            <LaterCapabilityCard title="Trading health">
              Not available yet. The health of the trading services, from their
              health checks and metrics, arrives with a later capability of the
              portal.
            </LaterCapabilityCard>
            <LaterCapabilityCard title="Deployments">
              Not available yet. Deployments of the trading services to
              Kubernetes and to the GPU pools arrive with a later capability of
              the portal.
            </LaterCapabilityCard>
          </Grid.Root>
        </Flex>
      </Container>
    </>
  );
}
