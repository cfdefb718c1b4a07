import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import type { WorkerHeartbeat } from '@gekko/worker';
import { openGekkoDatabase } from '../database/migrations';
import type { ManagedWorker } from './GpuManager';
import { TelemetryHistory } from './TelemetryHistory';
import { describeEachDatabase } from '../__testUtils__/databases';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const MINUTE = 60_000;

function worker(id: string, pool: string, hb: Partial<WorkerHeartbeat>) {
  return {
    id,
    pool,
    heartbeat: {
      timestamp: '',
      acceleratorKind: 'cuda',
      devices: [],
      loadedModels: [],
      queueDepth: 0,
      requestsPerSecond: 0,
      rowsPerSecond: 0,
      latencyMs: {},
      ...hb,
    },
  } as unknown as ManagedWorker;
}

describeEachDatabase(databases)('TelemetryHistory on %s', databaseId => {
  it('keeps 1-second points for 15 minutes, stores one averaged row per worker per minute, and prunes old rows', async () => {
    const knex = await databases.init(databaseId);
    const db = await openGekkoDatabase({ getClient: async () => knex });
    let now = Date.UTC(2026, 10, 25, 12, 0, 0);
    const history = new TelemetryHistory(db, {
      logger: mockServices.logger.mock(),
      retentionMs: 60 * 60_000,
      now: () => now,
    });

    // Minute 12:00: utilization 20, 40, 60 (temperature only once); then 12:01: 90.
    for (const [util, temp] of [
      [20, undefined],
      [40, 70],
      [60, undefined],
    ] as const) {
      history.record(
        worker('w1', 'cuda-primary', {
          utilizationPercent: util,
          temperatureCelsius: temp,
          latencyMs: { p99: util / 10 },
        }),
      );
      now += 1000;
    }
    history.record(
      worker('other', 'cpu-dr', {
        acceleratorKind: 'cpu',
        utilizationPercent: 5,
      }),
    );
    now = Date.UTC(2026, 10, 25, 12, 1, 10);
    history.record(worker('w1', 'cuda-primary', { utilizationPercent: 90 }));
    await history.flush();

    const rows = await db('gekko_gpu_telemetry').orderBy([
      'worker_id',
      'minute',
    ]);
    expect(rows).toHaveLength(2); // w1 12:00 and other 12:00; w1 12:01 is still being collected
    const w1 = rows.find(r => r.worker_id === 'w1')!;
    expect(Number(w1.minute)).toBe(Date.UTC(2026, 10, 25, 12, 0));
    expect(w1.samples).toBe(3);
    expect(Number(w1.utilization_percent)).toBe(40);
    expect(Number(w1.temperature_celsius)).toBe(70); // the mean of what was reported, not of zeros
    expect(Number(w1.p99_ms)).toBe(6); // the highest p99 of the minute
    expect(w1.power_watts).toBeNull();

    const day = await history.query('24h', 'cuda-primary');
    expect(day.stepSeconds).toBe(60);
    expect(day.series).toEqual([
      {
        workerId: 'w1',
        pool: 'cuda-primary',
        acceleratorKind: 'cuda',
        points: [
          expect.objectContaining({
            t: '2026-11-25T12:00:00.000Z',
            utilizationPercent: 40,
          }),
          // The minute being collected comes from memory.
          expect.objectContaining({
            t: '2026-11-25T12:01:00.000Z',
            utilizationPercent: 90,
          }),
        ],
      },
    ]);

    const live = await history.query('15m');
    expect(live.series.map(s => [s.workerId, s.points.length])).toEqual([
      ['other', 1],
      ['w1', 4],
    ]);
    // 16 minutes later the live window has let the old points go.
    now += 16 * MINUTE;
    history.record(worker('w1', 'cuda-primary', { utilizationPercent: 10 }));
    expect(
      (await history.query('15m', 'cuda-primary')).series[0].points,
    ).toHaveLength(1);

    // Past the retention (1 hour here), stored minutes are pruned.
    await history.flush();
    const before = await db('gekko_gpu_telemetry').select('minute');
    expect(before).toHaveLength(3); // w1 12:00 and 12:01, other 12:00
    now += 2 * 60 * MINUTE;
    history.record(worker('w1', 'cuda-primary', { utilizationPercent: 11 }));
    await history.flush(true);
    const left = await db('gekko_gpu_telemetry').select('minute', 'worker_id');
    // Everything older than an hour is gone; the minute just collected is stored.
    expect(left.map(r => [r.worker_id, Number(r.minute)])).toEqual([
      ['w1', Math.floor(now / MINUTE) * MINUTE],
    ]);
  });
});
