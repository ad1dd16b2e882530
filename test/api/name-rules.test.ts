import { describe, expect, it } from 'vitest';
import { MAX_TARGET_NAME } from '../../src/api/name-rules.js';
import { validateRollout, validateSpec } from '../../src/api/validate.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const spec = (edit: (s: Json) => void = () => {}): Json => {
  const s: Json = {
    targetRef: { name: 'product-service' },
    trafficRouting: {
      istio: { virtualService: { name: 'product-service' }, destinationRule: { name: 'product-service' } },
    },
  };
  edit(s);
  return s;
};

function problems(input: unknown): string[] {
  const result = validateSpec(input);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('names follow the Kubernetes and Istio rules', () => {
  it.each(['a..b', 'a.-b', '-a', 'a-', 'A', 'a_b', 'a.b-'])(
    'refuses %j as a Deployment, VirtualService, DestinationRule or Secret name',
    (name) => {
      const found = problems(
        spec((s) => {
          s.targetRef.name = name;
          s.trafficRouting.istio.virtualService.name = name;
          s.trafficRouting.istio.destinationRule.name = name;
          s.analysis = { prometheus: { address: 'http://p:9090', basicAuthSecretRef: { name } } };
        }),
      );
      for (const path of [
        'spec.targetRef.name',
        'spec.trafficRouting.istio.virtualService.name',
        'spec.trafficRouting.istio.destinationRule.name',
        'spec.analysis.prometheus.basicAuthSecretRef.name',
      ]) {
        expect(found).toContain(
          `${path}: ${JSON.stringify(name)} is not a valid Kubernetes object name; use lower-case letters and digits, with "-" or "." only between them`,
        );
      }
    },
  );

  it('accepts dotted names and single characters', () => {
    expect(problems(spec((s) => (s.targetRef.name = 'shop.v2')))).toEqual([]);
    expect(problems(spec((s) => (s.trafficRouting.istio.virtualService.name = 'a')))).toEqual([]);
  });

  it('refuses a target whose -canary Deployment and ReplicaSets would exceed 253 characters', () => {
    expect(problems(spec((s) => (s.targetRef.name = 'a'.repeat(MAX_TARGET_NAME))))).toEqual([]);
    const found = problems(spec((s) => (s.targetRef.name = 'a'.repeat(MAX_TARGET_NAME + 1))));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^spec\.targetRef\.name: is 236 characters long; .* at most 235 characters$/);
  });

  it('refuses subset names Istio refuses (DNS-1123 labels, upper case allowed)', () => {
    expect(problems(spec((s) => (s.trafficRouting.istio.destinationRule.stableSubset = 'V1')))).toEqual([]);
    expect(
      problems(
        spec((s) => {
          s.trafficRouting.istio.destinationRule.stableSubset = 'v1.stable';
          s.trafficRouting.istio.destinationRule.canarySubset = 'canary_';
        }),
      ),
    ).toEqual([
      'spec.trafficRouting.istio.destinationRule.stableSubset: "v1.stable" is not a valid Istio subset name; use letters and digits, with "-" only between them',
      'spec.trafficRouting.istio.destinationRule.canarySubset: "canary_" is not a valid Istio subset name; use letters and digits, with "-" only between them',
    ]);
  });

  it('checks metadata.name and metadata.namespace of a whole Rollout', () => {
    const result = validateRollout({
      apiVersion: 'stepwise.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'Product_Service', namespace: 'prod.eu' },
      spec: spec(),
    });
    expect(result.ok ? [] : result.problems.map((p) => p.path)).toEqual([
      'metadata.name',
      'metadata.namespace',
    ]);
  });
});

describe('rules between fields', () => {
  it('refuses the same subset for stable and canary, also through the defaults', () => {
    const message =
      'spec.trafficRouting.istio.destinationRule.canarySubset: "stable" is the stableSubset too; the canary needs a subset of its own, e.g. canary';
    expect(problems(spec((s) => (s.trafficRouting.istio.destinationRule.canarySubset = 'stable')))).toEqual([
      message,
    ]);
    // Judged even when another part of the spec fails the schema.
    expect(
      problems(
        spec((s) => {
          s.trafficRouting.istio.destinationRule.canarySubset = 'stable';
          s.steps = [{ weight: 0 }];
        }),
      ),
    ).toContain(message);
  });

  it('refuses a route or a tls/tcp route listed twice', () => {
    expect(
      problems(
        spec((s) => {
          s.trafficRouting.istio.virtualService.routes = ['primary', 'mobile', 'primary'];
          s.trafficRouting.istio.virtualService.tcpRoutes = [{ port: 5432 }, { port: 5432 }];
        }),
      ),
    ).toEqual([
      'spec.trafficRouting.istio.virtualService.routes[2]: "primary" is listed twice (also spec.trafficRouting.istio.virtualService.routes[0]); list each route once',
      'spec.trafficRouting.istio.virtualService.tcpRoutes[1]: {"port":5432} is listed twice (also spec.trafficRouting.istio.virtualService.tcpRoutes[0]); list each tcp route once',
    ]);
  });

  it('refuses a tls route selector that selects nothing', () => {
    expect(problems(spec((s) => (s.trafficRouting.istio.virtualService.tlsRoutes = [{}])))).toEqual([
      'spec.trafficRouting.istio.virtualService.tlsRoutes[0]: {} selects no tls route; give the port of its match, its sniHosts, or both',
    ]);
  });
});

describe('a host split names two Services instead of a DestinationRule', () => {
  const hostSplit = (istio: Json) =>
    spec((s) => {
      s.trafficRouting.istio = { virtualService: { name: 'product-service' }, ...istio };
    });

  it('accepts a host split with the default Services or two named ones', () => {
    expect(problems(hostSplit({}))).toEqual([]);
    expect(problems(hostSplit({ stableService: 'web-blue', canaryService: 'web-green' }))).toEqual([]);
  });

  it('refuses a DestinationRule together with the Services, naming both ways', () => {
    const found = problems(
      spec((s) => {
        s.trafficRouting.istio.stableService = 'web-blue';
      }),
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^spec\.trafficRouting\.istio\.stableService: is a host split, but destinationRule names a subset split; keep destinationRule .* or stableService\/canaryService/,
      ),
    ]);
  });

  it('refuses the same Service for both tracks, and names that are not Service names', () => {
    expect(problems(hostSplit({ stableService: 'web', canaryService: 'web' }))).toEqual([
      expect.stringMatching(/^spec\.trafficRouting\.istio\.canaryService: "web" is the stableService too/),
    ]);
    expect(problems(hostSplit({ stableService: 'web.blue', canaryService: '1web' }))).toEqual([
      expect.stringMatching(
        /^spec\.trafficRouting\.istio\.stableService: "web\.blue" is not a valid Service name/,
      ),
      expect.stringMatching(
        /^spec\.trafficRouting\.istio\.canaryService: "1web" is not a valid Service name/,
      ),
    ]);
  });

  it('refuses a target whose default Service names would be invalid, saying which field to set', () => {
    const found = problems(
      spec((s) => {
        s.targetRef.name = 'shop.cart';
        s.trafficRouting.istio = { virtualService: { name: 'cart' } };
      }),
    );
    expect(found).toContainEqual(
      expect.stringMatching(
        /^spec\.trafficRouting\.istio\.stableService: defaults to "shop\.cart-stable", which is not a valid Service name.*set stableService/,
      ),
    );
  });
});

describe('Gateway API routing: one HTTPRoute or GRPCRoute, instead of Istio', () => {
  const routing = (trafficRouting: Json) =>
    spec((s) => {
      s.trafficRouting = trafficRouting;
    });

  it('accepts an HTTPRoute or a GRPCRoute, with a rule name and Service names or without', () => {
    expect(problems(routing({ gatewayAPI: { httpRoute: { name: 'cart' } } }))).toEqual([]);
    expect(
      problems(
        routing({
          gatewayAPI: {
            grpcRoute: { name: 'cart', rule: 'primary' },
            stableService: 'a',
            canaryService: 'b',
          },
        }),
      ),
    ).toEqual([]);
  });

  it('refuses both or neither of istio and gatewayAPI, and both or neither route kind, naming the field', () => {
    const istio = { virtualService: { name: 'cart' }, destinationRule: { name: 'cart' } };
    expect(problems(routing({ istio, gatewayAPI: { httpRoute: { name: 'cart' } } }))).toEqual([
      expect.stringMatching(
        /^spec\.trafficRouting\.gatewayAPI: is set together with istio.*keep istio or gatewayAPI/,
      ),
    ]);
    expect(problems(routing({}))).toEqual([
      expect.stringMatching(/^spec\.trafficRouting: names no routing; add istio .* or gatewayAPI/),
    ]);
    expect(problems(routing({ gatewayAPI: {} }))).toEqual([
      expect.stringMatching(
        /^spec\.trafficRouting\.gatewayAPI: names no route; add httpRoute: \{name: <HTTPRoute>\}/,
      ),
    ]);
    expect(problems(routing({ gatewayAPI: { httpRoute: { name: 'a' }, grpcRoute: { name: 'b' } } }))).toEqual(
      [expect.stringMatching(/^spec\.trafficRouting\.gatewayAPI: names both httpRoute and grpcRoute/)],
    );
    expect(
      problems(routing({ gatewayAPI: { httpRoute: { name: 'a' }, stableService: 'x', canaryService: 'x' } })),
    ).toEqual([
      expect.stringMatching(/^spec\.trafficRouting\.gatewayAPI\.canaryService: "x" is the stableService too/),
    ]);
  });
});
