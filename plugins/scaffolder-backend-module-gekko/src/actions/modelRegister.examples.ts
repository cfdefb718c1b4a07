import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Register nhits-price version 2 from its ONNX file on the cpu-dr pool, then release it as a canary',
    example: yaml.stringify({
      steps: [
        {
          id: 'register',
          action: 'gekko:model:register',
          name: 'Register the version',
          input: {
            name: 'nhits-price',
            version: '2',
            artifact: 'nhits-price/2/model.onnx',
            pool: 'resource:default/cpu-dr',
          },
        },
        {
          id: 'deploy',
          action: 'gekko:deployment:create',
          name: 'Deploy',
          input: {
            entityRef: 'component:default/inference-gateway',
            strategy: 'canary',
            model: 'nhits-price',
            version: '2',
          },
        },
      ],
    }),
  },
];
