// The webhook examples of docs/ci.md, run as written (curl, openssl, jq) against the webhook: each must sign
// the way the webhook checks, or CI users copying them get 401.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Sandbox } from '../sandbox/apiserver-fixture.js';
import { HMAC_KEY, IMAGE, TOKEN } from './webhook-fixture.js';
import * as fixture from './webhook-fixture.js';

const CI_MD = readFileSync(new URL('../../docs/ci.md', import.meta.url), 'utf8');
const APP = 'product-service';

/** The first fenced block after the heading `heading`. */
function blockAfter(heading: string): string {
  const rest = CI_MD.slice(CI_MD.indexOf(`### ${heading}\n`));
  return /```[a-z]*\n([\s\S]*?)```/.exec(rest)![1]!;
}

function bash(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-euo', 'pipefail', '-c', script],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => resolve(`${stdout}${stderr}${error ? ` (exit ${String(error.code)})` : ''}`),
    );
  });
}

const installed = (tool: string) => {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const prerequisites = ['curl', 'openssl', 'jq'].every(installed);

describe.skipIf(!prerequisites)('the webhook examples of docs/ci.md', () => {
  let sandbox: Sandbox;
  let webhook: fixture.ServedWebhook;

  beforeAll(async () => {
    sandbox = await fixture.startWebhookSandbox();
    await sandbox.core.createNamespace({ body: { metadata: { name: 'production' } } });
    webhook = await fixture.serveWebhook(sandbox);
  });
  afterAll(async () => {
    webhook?.close();
    await sandbox?.server.close();
  });

  const run = async (script: string, image: string) => {
    await fixture.resetApp(sandbox, APP, { namespace: 'production', container: APP });
    const output = await bash(script, {
      IMAGE: image,
      STEPWISE_HMAC_KEY: HMAC_KEY,
      STEPWISE_TOKEN: TOKEN,
      STEPWISE_URL: webhook.url,
      CI_REGISTRY_IMAGE: IMAGE,
      CI_COMMIT_TAG: image.split(':').at(-1)!,
    });
    expect(output).toMatch(/"changed":true/);
    expect(await fixture.imageOf(sandbox, APP, 0, 'production')).toBe(image);
  };

  it('curl with HMAC', async () => {
    await run(
      blockAfter('curl with HMAC').replace('https://stepwise.example.com', '$STEPWISE_URL'),
      `${IMAGE}:1.1.0`,
    );
  });

  it('GitHub Actions (webhook)', async () => {
    const [step] = parse(blockAfter('GitHub Actions (webhook)')) as { run: string }[];
    await run(step!.run.replaceAll('${{ vars.STEPWISE_URL }}', '$STEPWISE_URL'), `${IMAGE}:1.2.0`);
  });

  it.each(['GitLab CI (webhook, bearer token)', 'GitLab CI (webhook, HMAC)'])('%s', async (heading) => {
    const job = Object.values(parse(blockAfter(heading)) as Record<string, { script: string[] }>)[0]!;
    await run(job.script.join('\n'), `${IMAGE}:1.3.0`);
  });
});
