import { InfoCard, StructuredMetadataTable } from '@backstage/core-components';
import { Alert, Flex, Text } from '@backstage/ui';
import type {
  GpuDeviceStatus,
  GpuWorkerStatus,
} from '@gekko/plugin-gekko-common';
import { Timestamp } from '../components/Timestamp';
import { AcceleratorBadge } from '../pools/AcceleratorBadge';
import {
  NOT_REPORTED,
  formatCelsius,
  formatLatency,
  formatMemory,
  formatPercent,
  formatProvider,
  formatRequestRate,
  formatTransport,
  formatWatts,
  shortWorkerId,
} from './format';
import { UsageBar } from './UsageBar';
import { WorkerStateStatus } from './WorkerStateStatus';

function percentOf(used?: number, total?: number): number | undefined {
  return used === undefined || !total ? undefined : (used / total) * 100;
}

function describeDevice(device: GpuDeviceStatus, position: number): string {
  const readings = [
    device.utilizationPercent === undefined
      ? undefined
      : formatPercent(device.utilizationPercent),
    device.memoryUsedBytes === undefined
      ? undefined
      : formatMemory(device.memoryUsedBytes, device.memoryTotalBytes),
    device.temperatureCelsius === undefined
      ? undefined
      : formatCelsius(device.temperatureCelsius),
    device.powerWatts === undefined
      ? undefined
      : formatWatts(device.powerWatts),
  ].filter(Boolean);
  return `#${device.index ?? position}: ${
    readings.length ? readings.join(' · ') : NOT_REPORTED
  }`;
}

function deviceLabel(worker: GpuWorkerStatus): string {
  if (!worker.deviceName) {
    return 'device not reported';
  }
  return worker.devices.length > 1
    ? `${worker.devices.length} × ${worker.deviceName}`
    : worker.deviceName;
}

/** One inference worker right now: where it runs, how loaded it is, and what it serves. */
export function WorkerCard(props: { worker: GpuWorkerStatus }) {
  const { worker } = props;
  const memoryPercent = percentOf(
    worker.memoryUsedBytes,
    worker.memoryTotalBytes,
  );

  return (
    <section aria-label={`Worker ${worker.id}`}>
      <InfoCard
        variant="gridItem"
        title={<span title={worker.id}>{shortWorkerId(worker.id)}</span>}
        subheader={`${worker.host} · ${formatTransport(worker.transport)}`}
        action={<WorkerStateStatus state={worker.state} />}
      >
        <Flex direction="column" gap="3">
          {worker.state === 'suspect' && (
            <Alert
              status="warning"
              icon
              title="Missed a heartbeat"
              description={
                <>
                  Last heard from <Timestamp time={worker.lastHeartbeatAt} />.
                  New requests go to ready workers first; the worker is dropped
                  if it stays silent.
                </>
              }
            />
          )}
          <Flex align="center" gap="2">
            <AcceleratorBadge accelerator={worker.acceleratorKind} />
            <Text as="span" variant="body-small">
              {deviceLabel(worker)}
            </Text>
          </Flex>
          <UsageBar
            label="Utilization"
            percent={worker.utilizationPercent}
            text={
              worker.utilizationPercent === undefined
                ? NOT_REPORTED
                : formatPercent(worker.utilizationPercent)
            }
          />
          <UsageBar
            label="Memory"
            percent={memoryPercent}
            text={formatMemory(worker.memoryUsedBytes, worker.memoryTotalBytes)}
          />
          <StructuredMetadataTable
            dense
            options={{ titleFormat: key => key }}
            metadata={{
              Temperature: formatCelsius(worker.temperatureCelsius),
              Power: formatWatts(worker.powerWatts),
              'Queue depth': String(worker.queueDepth),
              Outstanding: String(worker.outstanding),
              Throughput: formatRequestRate(worker.requestsPerSecond),
              'p99 latency': formatLatency(worker.latencyMs.p99),
              Models: worker.models.length
                ? worker.models.map(
                    m =>
                      `${m.name} ${m.version} · ${formatProvider(m.provider)}`,
                  )
                : 'none loaded',
              ...(worker.devices.length > 1 && {
                Devices: worker.devices.map(describeDevice),
              }),
              'Last heartbeat': <Timestamp time={worker.lastHeartbeatAt} />,
            }}
          />
          {worker.telemetryError && (
            <Alert
              status="warning"
              icon
              title="Telemetry error"
              description={worker.telemetryError}
            />
          )}
        </Flex>
      </InfoCard>
    </section>
  );
}
