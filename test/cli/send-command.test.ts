// promote/abort/retry against the sandbox API server through the real client; the test plays the controller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, EXIT_UNAVAILABLE } from '../../src/cli/exit.js';
import { commandAnnotations, newCommandId, sendCommand } from '../../src/cli/send-command.js';
import { Cluster } from '../../src/kube/cluster.js';
import { COMMAND_ANNOTATION, COMMAND_ID_ANNOTATION } from '../../src/rollout/commands.js';
import { startSandbox, type Sandbox } from '../sandbox/apiserver-fixture.js';

const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts', namespace: 'default' };

describe('sending a command to the controller', () => {
  let sandbox: Sandbox;
  let cluster: Cluster;

  beforeAll(async () => {
    sandbox = await startSandbox();
    cluster = new Cluster(sandbox.kc);
    await sandbox.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      body: { apiVersion: 'stepwise.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'app' }, spec: {} },
    });
  });
  afterAll(() => sandbox?.server.close());

  it('makes a fresh id for every command', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newCommandId('abort')));
    expect(ids.size).toBe(100);
    expect(commandAnnotations('promote-full', 'id-1')).toEqual({
      'stepwise.dev/command': 'promote-full',
      'stepwise.dev/command-id': 'id-1',
    });
  });

  it('writes the annotations and returns the record the controller wrote for that id', async () => {
    // The stand-in controller answers the first command id it sees, rejecting it as on a Healthy Rollout.
    let answered = false;
    const controller = (async () => {
      while (!answered) {
        const r = (await sandbox.custom.getNamespacedCustomObject({ ...ROLLOUTS, name: 'app' })) as {
          metadata: { annotations?: Record<string, string> };
        };
        const id = r.metadata.annotations?.[COMMAND_ID_ANNOTATION];
        if (id) {
          expect(r.metadata.annotations?.[COMMAND_ANNOTATION]).toBe('promote');
          await cluster.patchRolloutStatus(
            'default',
            'app',
            {
              lastCommand: {
                id,
                command: 'promote',
                accepted: false,
                message: 'nothing to promote: the rollout is Healthy',
                at: new Date().toISOString(),
              },
            },
            undefined,
          );
          answered = true;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const record = await sendCommand(cluster, 'default', 'app', 'promote', { timeoutMs: 5_000, pollMs: 20 });
    await controller;
    expect(record).toMatchObject({
      command: 'promote',
      accepted: false,
      message: 'nothing to promote: the rollout is Healthy',
    });
    expect(record.id).toMatch(/^promote-/);
  });

  it('gives up with exit status 2 when the controller does not answer', async () => {
    const error = await sendCommand(cluster, 'default', 'app', 'abort', { timeoutMs: 200, pollMs: 20 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT_UNAVAILABLE);
    expect((error as CliError).message).toMatch(/did not answer abort within 0\.2 s/);
    const r = (await sandbox.custom.getNamespacedCustomObject({ ...ROLLOUTS, name: 'app' })) as {
      metadata: { annotations: Record<string, string> };
    };
    expect(r.metadata.annotations[COMMAND_ANNOTATION]).toBe('abort');
  });

  it('refuses a command to a Rollout being deleted, writing nothing', async () => {
    await sandbox.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      body: {
        apiVersion: 'stepwise.dev/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'leaving', finalizers: ['example.com/hold'] },
        spec: {},
      },
    });
    await sandbox.custom.deleteNamespacedCustomObject({ ...ROLLOUTS, name: 'leaving' });
    const error = await sendCommand(cluster, 'default', 'leaving', 'abort', { timeoutMs: 2_000 }).catch(
      (e: unknown) => e,
    );
    expect((error as CliError).message).toBe('Rollout default/leaving is being deleted; abort was not sent');
    const r = (await sandbox.custom.getNamespacedCustomObject({ ...ROLLOUTS, name: 'leaving' })) as {
      metadata: { annotations?: Record<string, string> };
    };
    expect(r.metadata.annotations).toBeUndefined();
  });

  it('fails with exit status 2 for a Rollout that does not exist, writing nothing', async () => {
    const error = await sendCommand(cluster, 'default', 'nope', 'retry', { timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect((error as CliError).exitCode).toBe(EXIT_UNAVAILABLE);
    expect((error as CliError).message).toMatch(/Rollout default\/nope not found/);
  });
});
