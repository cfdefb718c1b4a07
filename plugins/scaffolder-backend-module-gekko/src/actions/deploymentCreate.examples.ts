import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Release nhits-price version 2 as a canary of 10, 25, 50 and 100 %, judged after each step',
    example: yaml.stringify({
      steps: [
        {
          id: 'deploy',
          action: 'gekko:deployment:create',
          name: 'Deploy',
          input: {
            entityRef: 'component:default/inference-gateway',
            strategy: 'canary',
            model: 'nhits-price',
            version: '2',
            steps: '10, 25, 50, 100',
            pauseSeconds: 30,
            maxP99Ms: 50,
          },
        },
      ],
    }),
  },
  {
    description:
      'Release it blue-green: loaded with no traffic, judged, then switched at once',
    example: yaml.stringify({
      steps: [
        {
          id: 'deploy',
          action: 'gekko:deployment:create',
          name: 'Deploy',
          input: {
            entityRef: 'component:default/inference-gateway',
            strategy: 'blue-green',
            model: 'nhits-price',
            version: '2',
          },
        },
      ],
    }),
  },
  {
    description:
      'Roll it out worker by worker on the pool cpu-dr, two workers per step, each with its share of the traffic',
    example: yaml.stringify({
      steps: [
        {
          id: 'deploy',
          action: 'gekko:deployment:create',
          name: 'Deploy',
          input: {
            entityRef: 'component:default/inference-gateway',
            strategy: 'rolling',
            model: 'nhits-price',
            version: '2',
            pool: 'resource:default/cpu-dr',
            maxUnavailable: 2,
          },
        },
      ],
    }),
  },
];
