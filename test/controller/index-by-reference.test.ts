// Which Rollouts a change to a Deployment, VirtualService or DestinationRule wakes.
import { describe, expect, it } from 'vitest';
import { ReferenceIndex } from '../../src/controller/index-by-reference.js';

const spec = (app: string, vs = app, dr = app) => ({
  targetRef: { name: app },
  trafficRouting: { istio: { virtualService: { name: vs }, destinationRule: { name: dr } } },
});
const object = (namespace: string, name: string, owner?: string) => ({
  metadata: {
    namespace,
    name,
    ...(owner
      ? { ownerReferences: [{ kind: 'Rollout', name: owner, apiVersion: 'stepwise.dev/v1alpha1' }] }
      : {}),
  },
});

describe('the index from referenced object to Rollout', () => {
  it('wakes every Rollout of the namespace that names the object, and only those', () => {
    const index = new ReferenceIndex();
    index.set('shop/cart', spec('cart', 'edge'));
    index.set('shop/cart-eu', spec('cart-eu', 'edge'));
    index.set('other/cart', spec('cart', 'edge'));
    expect(index.rolloutsFor('VirtualService', object('shop', 'edge')).sort()).toEqual([
      'shop/cart',
      'shop/cart-eu',
    ]);
    expect(index.rolloutsFor('Deployment', object('shop', 'cart'))).toEqual(['shop/cart']);
    expect(index.rolloutsFor('DestinationRule', object('shop', 'edge'))).toEqual([]);
  });

  it('forgets the old reference when a Rollout is re-pointed, and all of them when it is deleted', () => {
    const index = new ReferenceIndex();
    index.set('shop/cart', spec('cart'));
    index.set('shop/cart', spec('basket'));
    expect(index.rolloutsFor('Deployment', object('shop', 'cart'))).toEqual([]);
    expect(index.rolloutsFor('Deployment', object('shop', 'basket'))).toEqual(['shop/cart']);
    index.delete('shop/cart');
    expect(index.rolloutsFor('Deployment', object('shop', 'basket'))).toEqual([]);
  });

  it('keeps waking the remaining Rollout of a shared object when the other one is deleted or re-pointed', () => {
    const index = new ReferenceIndex();
    index.set('shop/cart', spec('cart', 'edge'));
    index.set('shop/cart-eu', spec('cart-eu', 'edge'));
    index.set('shop/basket', spec('basket', 'edge'));
    index.delete('shop/cart');
    index.set('shop/basket', spec('basket'));
    expect(index.rolloutsFor('VirtualService', object('shop', 'edge'))).toEqual(['shop/cart-eu']);
    index.set('shop/cart', spec('cart', 'edge'));
    expect(index.rolloutsFor('VirtualService', object('shop', 'edge')).sort()).toEqual([
      'shop/cart',
      'shop/cart-eu',
    ]);
    index.delete('shop/cart-eu');
    index.delete('shop/cart');
    expect(index.rolloutsFor('VirtualService', object('shop', 'edge'))).toEqual([]);
  });

  it('wakes the owning Rollout of a -stable or -canary Deployment through its owner reference', () => {
    const index = new ReferenceIndex();
    expect(index.rolloutsFor('Deployment', object('shop', 'cart-canary', 'cart'))).toEqual(['shop/cart']);
  });

  it('ignores a Rollout whose spec names nothing', () => {
    const index = new ReferenceIndex();
    index.set('shop/broken', undefined);
    expect(index.rolloutsFor('Deployment', object('shop', 'broken'))).toEqual([]);
  });
});
