import { DEFAULT_SLOS } from '@gekko/plugin-gekko-common';
import { CatalogEntityLike, tradingServicesFromCatalog } from './catalogRules';

function component(
  name: string,
  annotations: Record<string, string>,
): CatalogEntityLike {
  return {
    kind: 'Component',
    metadata: { name, annotations },
  };
}

describe('tradingServicesFromCatalog', () => {
  it('reads the SLOs, selector and venues of the Components that have SLOs, and skips the others', () => {
    const services = tradingServicesFromCatalog([
      { kind: 'System', metadata: { name: 'gordon-gekko' } },
      component('order-execution', {
        'gekko.io/slos': 'order-latency<80ms, availability',
        'gekko.io/prometheus-selector':
          '{job="order-execution",namespace="gekko"}',
        'gekko.io/venues': 'coinbase, binance-us, oanda',
      }),
      component('deployment-orchestrator', {
        'gekko.io/prometheus-selector':
          '{job="deployment-orchestrator",namespace="gekko"}',
      }),
    ]);
    expect(services).toEqual([
      {
        name: 'order-execution',
        selector: '{job="order-execution",namespace="gekko"}',
        slos: [
          { ...DEFAULT_SLOS['order-latency'], threshold: 0.08 },
          DEFAULT_SLOS.availability,
        ],
        venues: ['coinbase', 'binance-us', 'oanda'],
      },
    ]);
  });

  it('selects a service without a selector by its name as the job, and without venues by none', () => {
    const [service] = tradingServicesFromCatalog([
      component('risk-engine', { 'gekko.io/slos': 'risk-latency' }),
    ]);
    expect(service).toMatchObject({
      selector: '{job="risk-engine"}',
      venues: [],
    });
  });

  it.each([
    [
      { 'gekko.io/slos': 'order-latency<fast' },
      'component:order-execution: annotation gekko.io/slos: "order-latency<fast" is not an SLO',
    ],
    [
      { 'gekko.io/slos': 'order-latency', 'gekko.io/venues': 'coinbase, nyse' },
      'component:order-execution: annotation gekko.io/venues: "nyse" is not a known venue; known: coinbase, binance-us, oanda',
    ],
    [
      {
        'gekko.io/slos': 'order-latency',
        'gekko.io/prometheus-selector': 'job="order-execution"',
      },
      'component:order-execution: annotation gekko.io/prometheus-selector: "job="order-execution"" is not a Prometheus label selector',
    ],
  ])(
    'names the entity and the annotation of a bad value (%o)',
    (annotations, message) => {
      expect(() =>
        tradingServicesFromCatalog([component('order-execution', annotations)]),
      ).toThrow(message);
    },
  );
});
