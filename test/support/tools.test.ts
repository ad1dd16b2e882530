import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolBinary, toolDir, toolVersion, whyToolMissing } from './tools.js';

describe('finding the pinned tools', () => {
  let cache: string;
  const env = () => ({ STEPWISE_TOOLS_CACHE: cache });
  beforeAll(() => {
    cache = mkdtempSync(join(tmpdir(), 'stepwise-tools-cache-'));
  });
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('reads each tool’s version from the require line of its go.mod', () => {
    expect(toolVersion('prometheus')).toMatch(/^v0\.3\d\d\.\d+$/);
    expect(toolVersion('etcd')).toMatch(/^v3\.\d+\.\d+$/);
    expect(toolVersion('kubernetes')).toMatch(/^v1\.\d+\.\d+$/);
    expect(toolVersion('no-such-tool')).toBeUndefined();
  });

  it('returns a binary only from a complete build in STEPWISE_TOOLS_CACHE', () => {
    const dir = toolDir('etcd', env())!;
    expect(dir).toBe(join(cache, `etcd-${toolVersion('etcd')}`));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'etcd'), '#!/bin/sh\n');
    chmodSync(join(dir, 'etcd'), 0o755);
    expect(toolBinary('etcd', 'etcd', env())).toBeUndefined(); // build.sh marks a finished build with .complete
    writeFileSync(join(dir, '.complete'), '');
    expect(toolBinary('etcd', 'etcd', env())).toBe(join(dir, 'etcd'));
    expect(toolBinary('etcd', 'etcdctl', env())).toBeUndefined();
  });

  it('says how to build a missing tool and shows the end of its failed build', () => {
    writeFileSync(
      `${toolDir('kwok', env())}.log`,
      'go: downloading sigs.k8s.io/kwok\nbuild failed: no space left on device\n',
    );
    const why = whyToolMissing('kwok', 'kwok', env())!;
    expect(why).toContain('build it with `bash tools/build.sh kwok`');
    expect(why).toContain('no space left on device');
  });
});
