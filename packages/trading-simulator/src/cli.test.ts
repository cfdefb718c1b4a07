import { runCli } from './cli';

function captureIo() {
  const io = { out: '', err: '' };
  return {
    io,
    cliIo: {
      stdout: (text: string) => {
        io.out += text;
      },
      stderr: (text: string) => {
        io.err += text;
      },
    },
  };
}

describe('gekko-trading-simulator', () => {
  it('prints its help', async () => {
    const { io, cliIo } = captureIo();
    expect(await runCli(['--help'], cliIo)).toBe(0);
    expect(io.out).toContain('Usage: gekko-trading-simulator');
  });

  it.each([
    [['--port', '70000'], '--port: must be a whole number from 0 to 65535'],
    [['--port', 'abc'], '--port: must be a whole number'],
    [['--verbose'], "Unknown option '--verbose'"],
  ])('refuses %j with exit code 2', async (argv, message) => {
    const { io, cliIo } = captureIo();
    expect(await runCli(argv, cliIo)).toBe(2);
    expect(io.err).toContain(message);
  });

  it('serves the metrics, prints their URLs and a fault example, and stops on SIGTERM', async () => {
    const { io, cliIo } = captureIo();
    const exit = runCli(['--port', '0'], cliIo);
    const base = await new Promise<string>(resolve => {
      const poll = setInterval(() => {
        const match = /on (http:\/\/\S+)/.exec(io.out);
        if (match) {
          clearInterval(poll);
          resolve(match[1]);
        }
      }, 10);
    });
    expect(io.out).toContain(
      `  market-data-oanda        ${base}/services/market-data-oanda/metrics`,
    );
    expect(io.out).toContain(
      `curl -X PUT ${base}/services/order-execution/faults/latency-spike -d '{"factor":5}'`,
    );
    const metrics = await fetch(`${base}/services/risk-engine/metrics`);
    expect(await metrics.text()).toContain('gekko_risk_exposure_usd');

    process.emit('SIGTERM');
    expect(await exit).toBe(0);
    await expect(fetch(`${base}/services`)).rejects.toThrow();
  });
});
