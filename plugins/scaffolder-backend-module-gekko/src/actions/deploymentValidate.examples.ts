import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Validate a canary of nhits-price version 2, changing nothing',
    example: yaml.stringify({
      steps: [
        {
          id: 'validate',
          action: 'gekko:deployment:validate',
          name: 'Validate the deployment',
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
