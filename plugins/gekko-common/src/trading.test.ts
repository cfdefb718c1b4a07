import { DEFAULT_SLOS, durationSeconds, parseSloAnnotation } from './trading';
import { validateGekkoAnnotations } from './validateGekkoAnnotations';

describe('parseSloAnnotation', () => {
  it('takes the seed’s objectives by id, and each one’s own target where given', () => {
    expect(
      parseSloAnnotation(
        'order-latency<80ms, api-latency<0.04s, market-data-throughput>=12000/s, availability>=99.95%',
      ).map(s => [s.id, s.threshold, s.objective]),
    ).toEqual([
      ['order-latency', 0.08, 0.99],
      ['api-latency', 0.04, 0.99],
      ['market-data-throughput', 12_000, 0.999],
      ['availability', 0.9995, 0.9995],
    ]);
    expect(parseSloAnnotation('risk-latency')).toEqual([
      DEFAULT_SLOS['risk-latency'],
    ]);
  });

  it.each([
    ['', /lists no SLO/],
    ['nope', /"nope" is not a known SLO; known: order-latency/],
    ['order-latency, order-latency', /listed twice/],
    [
      'order-latency>=5/s',
      /a latency SLO takes a limit such as order-latency<80ms/,
    ],
    ['availability>=101%', /at least 50 and under 100/],
    ['availability 99%', /is not an SLO/],
  ])('refuses %j, saying why', (value, message) => {
    expect(() => parseSloAnnotation(value)).toThrow(message);
  });
});

describe('the trading annotations', () => {
  it('names a bad SLO list and an unknown venue', () => {
    expect(
      validateGekkoAnnotations({
        'gekko.io/slos': 'order-latency<fast',
        'gekko.io/venues': 'coinbase, nyse',
      }),
    ).toEqual([
      expect.stringMatching(
        /^gekko.io\/slos: "order-latency<fast" is not an SLO/,
      ),
      'gekko.io/venues: "nyse" is not a venue; use a comma-separated list of coinbase, binance-us, oanda',
    ]);
    expect(
      validateGekkoAnnotations({
        'gekko.io/slos': 'order-latency, availability',
        'gekko.io/venues': 'coinbase',
      }),
    ).toEqual([]);
  });

  it('reads Prometheus durations', () => {
    expect(['5m', '1h', '3d', '30s'].map(durationSeconds)).toEqual([
      300, 3600, 259_200, 30,
    ]);
    expect(() => durationSeconds('1y')).toThrow(
      '"1y" is not a Prometheus duration',
    );
  });
});
