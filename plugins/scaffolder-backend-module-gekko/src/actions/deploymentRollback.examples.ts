import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Roll a deployment back to what it replaced',
    example: yaml.stringify({
      steps: [
        {
          id: 'rollback',
          action: 'gekko:deployment:rollback',
          name: 'Roll back',
          input: { deploymentId: '6f1c1f4e-2f57-4a4a-9a43-3a4d2f3b1c11' },
        },
      ],
    }),
  },
];
