import fastJsonPatch, { type Operation } from 'fast-json-patch';
import type { GatewayApi } from '../../src/traffic/gateway-api.js';
import type { GatewayRouteKind } from '../../src/traffic/gateway-objects.js';
import type { JsonPatchOperation } from '../../src/traffic/managed-rule.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * One route in memory, patched as the API server patches: the JSON patch applied to the stored object (a failed
 * `test` is 422), then the patched object's resourceVersion checked against the stored one (409 when stale).
 */
export class FakeGatewayApi implements GatewayApi {
  readonly patches: JsonPatchOperation[][] = [];
  beforePatch?: (attempt: number) => void;
  private version = 1;
  constructor(public route: Json) {
    this.route = { ...route, metadata: { ...route.metadata, resourceVersion: '1' } };
  }
  edit(change: (route: Json) => void): void {
    const copy = structuredClone(this.route);
    change(copy);
    copy.metadata.resourceVersion = String(++this.version);
    this.route = copy;
  }
  async getRoute(kind: GatewayRouteKind, _ns: string, name: string): Promise<object | undefined> {
    return this.route.kind === kind && this.route.metadata.name === name
      ? structuredClone(this.route)
      : undefined;
  }
  async patchRoute(_kind: GatewayRouteKind, _ns: string, _name: string, ops: JsonPatchOperation[]) {
    this.patches.push(structuredClone(ops));
    this.beforePatch?.(this.patches.length);
    let patched: Json;
    try {
      patched = fastJsonPatch.applyPatch(
        structuredClone(this.route),
        ops as Operation[],
        true,
        false,
      ).newDocument;
    } catch (error) {
      throw Object.assign(new Error(String(error)), { code: 422 });
    }
    if (patched.metadata.resourceVersion !== this.route.metadata.resourceVersion) {
      throw Object.assign(new Error('the object has been modified'), { code: 409 });
    }
    patched.metadata.resourceVersion = String(++this.version);
    this.route = patched;
  }
}
