/** See nginx-config.mjs. */
export function nginxConfig(opts: {
  template: string;
  dir: string;
  nodePorts: number[];
  lbPort: number;
  generatedBy: string;
  workerConnections?: number;
  mainLines?: string[];
}): string;
