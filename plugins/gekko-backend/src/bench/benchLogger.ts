import { LoggerService } from '@backstage/backend-plugin-api';

/** The benchmarks' logger: quiet, but warnings and errors still reach stderr. */
export const benchLogger: LoggerService = {
  info: () => {},
  debug: () => {},
  warn: m => process.stderr.write(`warn: ${m}\n`),
  error: m => process.stderr.write(`error: ${m}\n`),
  child: () => benchLogger,
};
