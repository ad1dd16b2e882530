import { describe, expect, it } from 'vitest';
import { stepTraffic } from '../../src/api/steps.js';
import { validateSpec } from '../../src/api/validate.js';

const spec = (steps: unknown[]) => ({
  targetRef: { name: 'product-service' },
  trafficRouting: {
    istio: { virtualService: { name: 'product-service' }, destinationRule: { name: 'product-service' } },
  },
  steps,
});

function problems(input: unknown): string[] {
  const result = validateSpec(input);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

const testers = { match: [{ headers: [{ name: 'x-canary', value: 'true' }] }] };

describe('mirror and headerRoute steps', () => {
  it('accepts a mirror step, a header route and weights, and defaults a match type to Exact', () => {
    const result = validateSpec(
      spec([
        { mirror: { percent: 100 }, duration: '2m' },
        { headerRoute: testers },
        { weight: 10 },
        { weight: 50 },
      ]),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.spec.steps[1]!.headerRoute!.match[0]!.headers![0]!.type).toBe('Exact');
  });

  it('refuses a step with two kinds, naming both and the fix', () => {
    expect(problems(spec([{ weight: 5, mirror: { percent: 50 } }]))).toEqual([
      'spec.steps[0]: sets weight and mirror; a step has exactly one of weight, mirror and headerRoute: split it into 2 steps',
    ]);
  });

  it('refuses a step with no kind', () => {
    expect(problems(spec([{ duration: '1m' }]))).toEqual([
      'spec.steps[0]: sets none of weight, mirror and headerRoute; add one of them',
    ]);
  });

  it('refuses a mirror step after a weight step: users would no longer be all on stable', () => {
    expect(problems(spec([{ weight: 5 }, { mirror: { percent: 100 } }, { weight: 50 }]))).toEqual([
      'spec.steps[1].mirror: comes after the weight step spec.steps[0]; a mirror step judges the canary while users are 100% on stable, so move it before the first weight step',
    ]);
  });

  it('refuses a match with neither headers nor cookies, which would catch every request', () => {
    expect(problems(spec([{ headerRoute: { match: [{ headers: [] }] } }, { weight: 50 }]))).toEqual([
      'spec.steps[0].headerRoute.match[0]: matches every request; give at least one header or cookie',
    ]);
  });

  it('refuses a mirror percent outside 1..100 and a second header route', () => {
    expect(
      problems(spec([{ mirror: { percent: 0 } }, { headerRoute: testers }, { headerRoute: testers }])),
    ).toEqual(['spec.steps[0].mirror.percent: 0 is below the minimum 1; use a larger value']);
    expect(problems(spec([{ headerRoute: testers }, { weight: 5 }, { headerRoute: testers }]))).toEqual([
      'spec.steps[2].headerRoute: is a second header route; one stays in force until the rollout ends, so put all its matches in spec.steps[0].headerRoute.match',
    ]);
  });

  it('refuses a cookie value with ";", which would match across cookies', () => {
    expect(
      problems(spec([{ headerRoute: { match: [{ cookies: [{ name: 'canary', value: 'a;b' }] }] } }])),
    ).toEqual([
      'spec.steps[0].headerRoute.match[0].cookies[0].value: "a;b" contains ";", a line break or NUL; match one cookie value',
    ]);
  });

  it('gives each step its traffic: mirror keeps users on stable, a header route stays and keeps the weight', () => {
    const result = validateSpec(
      spec([{ mirror: { percent: 50 } }, { weight: 10 }, { headerRoute: testers }, { weight: 50 }]),
    );
    if (!result.ok) throw new Error('valid spec refused');
    const steps = result.spec.steps;
    expect(stepTraffic(steps, 0)).toEqual({ weight: 0, mirrorPercent: 50 });
    expect(stepTraffic(steps, 1)).toEqual({ weight: 10 });
    expect(stepTraffic(steps, 2)).toEqual({
      weight: 10,
      headerMatches: result.spec.steps[2]!.headerRoute!.match,
    });
    expect(stepTraffic(steps, 3)).toEqual({
      weight: 50,
      headerMatches: result.spec.steps[2]!.headerRoute!.match,
    });
  });
});
