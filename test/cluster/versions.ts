// What the cluster tier runs against, as each binary reports it.
import { execFileSync } from 'node:child_process';
import { toolBinary } from './tools.js';

const firstLine = (binary: string, args: string[]) =>
  execFileSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .split('\n')[0]
    ?.trim() ?? '';

/** One line per component, e.g. "kube-apiserver: Kubernetes v1.36.3"; throws naming what is not built. */
export function componentVersions(): string[] {
  return [
    `kube-apiserver: ${firstLine(toolBinary('kubernetes', 'kube-apiserver'), ['--version'])}`,
    `kube-controller-manager: ${firstLine(toolBinary('kubernetes', 'kube-controller-manager'), ['--version'])}`,
    `kube-scheduler: ${firstLine(toolBinary('kubernetes', 'kube-scheduler'), ['--version'])}`,
    `etcd: ${firstLine(toolBinary('etcd'), ['--version'])}`,
    `kwok: ${firstLine(toolBinary('kwok'), ['--version'])}`,
    `prometheus: ${firstLine(toolBinary('prometheus'), ['--version'])}`,
  ];
}
