import type { IstioApi } from '../../src/traffic/istio.js';
import { applyMergePatch } from './merge-patch.js';

interface Stored {
  metadata: { resourceVersion: string; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * An in-memory stand-in for the two Istio resources, honouring resourceVersion like the API server:
 * a merge patch carrying a stale resourceVersion fails with 409.
 */
export class FakeIstioApi implements IstioApi {
  readonly virtualServices = new Map<string, Stored>();
  readonly destinationRules = new Map<string, Stored>();
  readonly patches: object[] = [];
  /** Runs before a patch is applied: lets a test play a concurrent writer. */
  beforePatch?: (attempt: number) => void;
  private version = 0;

  private stamp(object: object): Stored {
    const copy = structuredClone(object) as Stored;
    copy.metadata = { ...copy.metadata, resourceVersion: String(++this.version) };
    return copy;
  }

  putVirtualService(namespace: string, object: object): void {
    const name = (object as { metadata: { name: string } }).metadata.name;
    this.virtualServices.set(`${namespace}/${name}`, this.stamp(object));
  }

  putDestinationRule(namespace: string, object: object): void {
    const name = (object as { metadata: { name: string } }).metadata.name;
    this.destinationRules.set(`${namespace}/${name}`, this.stamp(object));
  }

  /** Changes a stored VirtualService as another writer would (new resourceVersion). */
  editVirtualService(namespace: string, name: string, edit: (vs: Stored) => void): void {
    const stored = this.virtualServices.get(`${namespace}/${name}`);
    if (!stored) throw new Error(`no VirtualService ${namespace}/${name}`);
    const copy = structuredClone(stored);
    edit(copy);
    this.virtualServices.set(`${namespace}/${name}`, this.stamp(copy));
  }

  async getVirtualService(namespace: string, name: string): Promise<object | undefined> {
    const stored = this.virtualServices.get(`${namespace}/${name}`);
    return stored && structuredClone(stored);
  }

  async getDestinationRule(namespace: string, name: string): Promise<object | undefined> {
    const stored = this.destinationRules.get(`${namespace}/${name}`);
    return stored && structuredClone(stored);
  }

  async patchVirtualService(namespace: string, name: string, mergePatch: object): Promise<void> {
    this.patches.push(structuredClone(mergePatch));
    this.beforePatch?.(this.patches.length);
    const stored = this.virtualServices.get(`${namespace}/${name}`);
    if (!stored) throw Object.assign(new Error(`virtualservices "${name}" not found`), { code: 404 });
    const sent = (mergePatch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (sent !== undefined && sent !== stored.metadata.resourceVersion) {
      throw Object.assign(
        new Error(`the object has been modified; please apply your changes to the latest version`),
        {
          code: 409,
        },
      );
    }
    this.virtualServices.set(
      `${namespace}/${name}`,
      this.stamp(applyMergePatch(stored, mergePatch) as object),
    );
  }
}
